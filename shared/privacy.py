"""What the apps show of a person: enough to recognise, not enough to misuse."""


def mask_phone(phone: str) -> str:
    """138****5678: enough to recognise, not enough to call."""
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 8 else "****"
