"""What a person is told when a reminder or a behind-pace notice is announced, and who is told."""

from typing import Any

REMINDER = "reporting.summary.reminder.v1"
BEHIND_PACE = "reporting.target.behind_pace.v1"


def audience_of(scope: str) -> str:
    """Who a notice is for: a city's or a unit's people, else the provincial office."""
    return scope if scope.startswith(("city:", "unit:")) else "province"


def notice(event_type: str, data: dict[str, Any]) -> dict[str, str]:
    """The notice's audience, kind, title and body (Chinese first, then English)."""
    if event_type == REMINDER:
        days, due, scope = data["days_left"], data["deadline"], data["scope"]
        return {
            "audience": audience_of(scope),
            "kind": "summary_reminder",
            "title": f"总结还有 {days} 天截止（{due}）/ Summary due in {days} days ({due})",
            "body": f"{scope} 的科技活动周总结尚未提交，请在 {due} 前提交。/ The summary of {scope} is due on {due}.",
        }
    target, scope = data["target_id"], data["scope"]
    done, expected = data["done"], data["expected"]
    return {
        "audience": audience_of(scope),
        "kind": "target_behind_pace",
        "title": f"目标进度落后：{target} / Target behind pace: {target}",
        "body": f"{scope} 已完成 {done:g}，按进度应完成 {expected:g}（目标 {data['value']:g}，{data['due']} 截止）。"
        f" / {scope}: {done:g} done, {expected:g} expected by now (target {data['value']:g} due {data['due']}).",
    }
