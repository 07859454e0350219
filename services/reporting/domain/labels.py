"""What each counter is called in the exports, the PDF and the dashboard (Chinese first, English after)."""

from collections.abc import Collection

LABELS = {
    "planned": "计划走访 / planned visits",
    "completed": "完成走访 / visits completed",
    "households_reached": "走访农户 / households reached",
    "consultations": "现场咨询 / consultations",
    "trainees": "培训人数 / people trained",
    "books": "发放图书 / books handed out",
    "visits_cancelled": "取消走访 / visits cancelled",
    "visits_missed": "错过走访 / visits missed",
    "visits_accepted": "已接受走访 / visits accepted",
    "visits_declined": "被拒绝待改派 / visits declined",
    "visits_flagged": "需核实走访 / visits flagged",
    "flags_geofence": "超范围签到 / far check-ins",
    "flags_poor_accuracy": "定位精度差 / poor GPS accuracy",
    "flags_late_sync": "迟同步 / late syncs",
    "flags_conflict": "报告冲突 / report conflicts",
    "venues_registered": "登记场馆 / venues registered",
    "venues_approved": "批准场馆 / venues approved",
    "venues_rejected": "未批准场馆 / venues rejected",
    "opendays": "开放日 / open days",
    "opendays_free": "免费开放日 / free open days",
    "opendays_half_price": "半价开放日 / half-price open days",
    "opendays_online": "线上开放 / online open days",
    "sessions": "场次 / sessions",
    "seats": "座位 / seats",
    "bookings": "有效预约 / bookings",
    "bookings_free": "免费预约 / free bookings",
    "bookings_half_price": "半价预约 / half-price bookings",
    "bookings_cancelled": "取消预约 / cancelled bookings",
    "booked_people": "预约人数 / people booked",
    "waitlisted": "候补预约 / joined a waiting list",
    "waitlist_promoted": "候补转正邀请 / offered seats from the waiting list",
    "visitors": "入场人数 / visitors checked in",
    "visitors_free": "免费入场 / free visitors",
    "visitors_half_price": "半价入场 / half-price visitors",
    "activities_scheduled": "主题活动（计划）/ activities scheduled",
    "activities_held": "主题活动（举办）/ activities held",
    "activities_cancelled": "主题活动（取消）/ activities cancelled",
    "activities.policy_lecture.held": "政策宣讲（举办）/ policy lectures held",
    "participants": "活动参与人数 / participants",
    "exhibits_submitted": "申报展项 / exhibits submitted",
    "reviews": "评审次数 / reviews",
    "exhibits_accepted": "入选展项 / exhibits accepted",
    "exhibits_confirmed": "确认参展 / exhibits confirmed",
    "exhibits_rejected": "未入选展项 / exhibits rejected",
    "exhibits_waitlisted": "候补展项 / exhibits waitlisted",
    "exhibits_withdrawn": "撤回展项 / exhibits withdrawn",
    "exhibits_placed": "已布展 / exhibits placed",
    "area_used_dm2": "已用面积（平方分米）/ area used (dm²)",
}
STATUS = {
    "pending": "未到期 / pending",
    "on_time": "按时 / on time",
    "late": "逾期 / late",
    "missing": "缺交 / missing",
}
TABLE_COUNTERS = tuple(k for k in LABELS if k != "visits_cancelled")
ACTIVITY_COUNTERS = ("scheduled", "held", "participants")  # kept per activity type: activities.<type>.<counter>


def is_counter(metric: str, activity_types: Collection[str]) -> bool:
    """Whether the projections keep a counter named `metric` (a target measures nothing else)."""
    if metric in LABELS:
        return True
    kind, _, counter = metric.removeprefix("activities.").rpartition(".")
    return metric.startswith("activities.") and kind in activity_types and counter in ACTIVITY_COUNTERS
