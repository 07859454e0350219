"""What `sciweek up` checks before it starts anything: each problem is one line, Chinese and English, with the fix."""

import errno
import fcntl
import socket
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from services.reporting.service.exports import CJK_FONTS
from shared.settings import Settings

AMQP_HEADER = b"AMQP\x00\x00\x09\x01"  # protocol header of AMQP 0-9-1; a broker answers with Connection.Start
AMQP_ANSWER_S = 5.0
DEFAULT_CHROMIUM = Path("/usr/bin/chromium")


@dataclass(frozen=True)
class Finding:
    """One problem found before start-up; a fatal one stops `sciweek up` before any process starts."""

    line: str
    fatal: bool = True


def broker(amqp_url: str, answer_s: float = AMQP_ANSWER_S) -> Finding | None:
    """The broker accepts TCP and answers the AMQP protocol header with a method frame."""
    parts = urlsplit(amqp_url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 5672
    where = f"{host}:{port}"
    try:
        with socket.create_connection((host, port), timeout=2) as conn:
            conn.settimeout(answer_s)
            conn.sendall(AMQP_HEADER)
            first = conn.recv(1)
    except TimeoutError:
        return Finding(
            f"RabbitMQ 在 {where} 接受连接但不应答 AMQP（{answer_s:.0f} 秒内）/ the broker at {where} accepts TCP but "
            "does not answer AMQP: it is starting, overloaded or not RabbitMQ; check `rabbitmqctl status`, restart it "
            "(rabbitmq-server -detached) or point AMQP_URL at another broker"
        )
    except OSError:
        return Finding(
            f"RabbitMQ 不可达 / RabbitMQ is not reachable at {where}: start it with `rabbitmq-server -detached` "
            "or point AMQP_URL at a running broker"
        )
    if first != b"\x01":  # a method frame; anything else (or a closed connection) is not an AMQP 0-9-1 broker
        return Finding(
            f"{where} 上的服务不是 AMQP 0-9-1 代理 / the server at {where} does not speak AMQP 0-9-1: "
            "point AMQP_URL at RabbitMQ"
        )
    return None


def brokers(urls: list[str]) -> list[Finding]:
    """Each node of AMQP_URL is probed; the stack can start when one answers (the others are notes)."""
    found = [f for f in (broker(url) for url in urls) if f is not None]
    if len(found) < len(urls):
        return [Finding(f.line, fatal=False) for f in found]
    return found


def ports(wanted: Mapping[str, int], host: str = "127.0.0.1") -> list[Finding]:
    """Each service's port is free to listen on."""
    found = []
    for name, port in wanted.items():
        with socket.socket() as s:
            try:
                s.bind((host, port))
            except OSError as exc:
                if exc.errno != errno.EADDRINUSE:
                    raise
                found.append(
                    Finding(
                        f"端口 {port} 已被占用（{name}）/ port {port} ({name}) is already in use: stop what listens "
                        f"there (`ss -ltnp 'sport = :{port}'`) or start on other ports with --base-port"
                    )
                )
    return found


def data_dir(path: Path) -> Finding | None:
    """No other SecantusDB process holds the data directory (its WiredTiger lock)."""
    lock = path / "WiredTiger.lock"
    if not lock.is_file():
        return None
    with open(lock, "rb+") as f:
        try:
            fcntl.lockf(f, fcntl.LOCK_EX | fcntl.LOCK_NB)  # the same whole-file lock WiredTiger takes
        except OSError:
            return Finding(
                f"数据目录被另一个 SecantusDB 进程占用 / the data directory {path} is locked by another SecantusDB "
                "process: stop the other `sciweek up` (or the process holding it, `fuser` on its WiredTiger.lock) "
                "or use --data-dir"
            )
        fcntl.lockf(f, fcntl.LOCK_UN)
    return None


def font(settings: Settings) -> Finding | None:
    """A CJK font for the PDF exports: the configured one must exist; without any, a warning."""
    configured = settings.reporting_pdf_font
    if configured is not None and not configured.is_file():
        return Finding(
            f"找不到字体文件 / font not found: SCIWEEK_REPORTING_PDF_FONT={configured}: point it at a .ttf/.ttc/.otf "
            "CJK font or unset it (Debian: apt-get install fonts-wqy-microhei)"
        )
    if configured is None and not any(Path(p).is_file() for p, _ in CJK_FONTS):
        return Finding(
            "未找到中文字体，PDF 导出不嵌入字体 / no CJK font found: PDF exports will not embed one "
            "(apt-get install fonts-wqy-microhei, or set SCIWEEK_REPORTING_PDF_FONT)",
            fatal=False,
        )
    return None


def chromium(settings: Settings) -> Finding | None:
    """The browser of the browser tests and screenshots: the configured one must exist; without it, a note."""
    if settings.chromium is not None and not settings.chromium.is_file():
        return Finding(
            f"找不到 Chromium / Chromium not found: SCIWEEK_CHROMIUM={settings.chromium}: point it at the browser "
            "binary or unset it (Debian: apt-get install chromium)"
        )
    if settings.chromium is None and not DEFAULT_CHROMIUM.is_file():
        return Finding(
            f"未找到 Chromium（{DEFAULT_CHROMIUM}），浏览器测试与截图不可用 / no Chromium: browser tests and "
            "screenshots will not run (apt-get install chromium)",
            fatal=False,
        )
    return None


def check(settings: Settings, wanted_ports: Mapping[str, int], storage: Path) -> list[Finding]:
    """Every problem `sciweek up` can see before it starts a process, the fatal ones first."""
    found = [f for f in (font(settings), chromium(settings), data_dir(storage)) if f is not None]
    found += ports(wanted_ports, settings.host)
    if not [f for f in found if f.fatal]:  # the broker probe may take seconds: only when nothing else is wrong
        found += brokers(settings.amqp_urls)
    return sorted(found, key=lambda f: not f.fatal)
