"""TOTP second factor on top of django-otp."""

import io

import qrcode
import qrcode.image.svg
from django_otp import match_token
from django_otp.plugins.otp_totp.models import TOTPDevice


def pending_device(user) -> TOTPDevice:
    """The user's unconfirmed TOTP device, created on first call (enrolment)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    return device or TOTPDevice.objects.create(user=user, name="default", confirmed=False)


def qr_svg(device: TOTPDevice) -> str:
    image = qrcode.make(device.config_url, image_factory=qrcode.image.svg.SvgPathImage, box_size=8)
    buffer = io.BytesIO()
    image.save(buffer)
    return buffer.getvalue().decode("utf-8")


def base32_key(device: TOTPDevice) -> str:
    import base64

    key = base64.b32encode(device.bin_key).decode("ascii").rstrip("=")
    return " ".join(key[i:i + 4] for i in range(0, len(key), 4))  # groups of four are easier to type


def verify(user, token: str):
    """The confirmed device that accepts ``token``, or None."""
    token = (token or "").strip()
    if not token.isdigit():
        return None
    return match_token(user, token)


def has_confirmed_device(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()
