"""CQ_EBIKE_SHARE 1.0: Chongqing shared e-assist bicycle rides (碳惠通).

重庆 碳惠通 共享电动助力车骑行项目方法学 credits 43 g CO2 per km ridden, net of the
e-bike's charging (tanpaifang.com/fangfaxue/202307/1498699.html).

Registry rules: at least 300 m; average speed at most 25 km/h, the legal maximum design
speed of an e-bike in China (GB 17761-2018); 1 min to 3 h; caps 1,000 g a ride and 2,000 g
per account per day.
"""

from __future__ import annotations

from fractions import Fraction

from registry.methodologies.base import AtLeast, Factor, MaxSpeed, Methodology, Term

SOURCE = "tanpaifang.com/fangfaxue/202307/1498699.html"

METHODOLOGY = Methodology(
    id="CQ_EBIKE_SHARE",
    version="1.0",
    family="travel",
    region="500000",
    title_zh="重庆市“碳惠通”共享电动助力车骑行项目方法学",
    title_en="Chongqing shared e-assist bicycle riding (Tanhuitong)",
    source="重庆 碳惠通 methodology, factor as reported by " + SOURCE,
    quantities=(("ride_m", "metres ridden"),),
    factors={
        # 43 g per km = 43 mg per metre, reduction net of charging.
        "ride": Factor(Fraction(43), "mg CO2e reduced per metre ridden", SOURCE),
    },
    terms=(Term("ride_m", "ride"),),
    rules=(AtLeast(("ride_m",), 300, "m"), MaxSpeed((("ride_m", 25),))),
    min_duration_s=60,
    max_duration_s=3 * 3600,
    cap_per_activity_g=1_000,
    cap_per_account_day_g=2_000,
    notes="Minimum distance, speed limit (GB 17761-2018 design speed), duration and caps are "
    "registry rules.",
    module=__name__,
)
