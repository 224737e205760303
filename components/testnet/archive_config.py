"""testnet.regions[].archive: the archive process and its Postgres, and the optional backup of
that Postgres to object storage.

The backup is CloudNativePG's own (operator 1.27.0, chart cloudnative-pg 0.26.0): the Cluster's
`spec.backup.barmanObjectStore` archives WAL continuously and holds base backups, and a
`ScheduledBackup` takes those base backups on a schedule; `spec.backup.retentionPolicy` prunes
both. The field names and patterns below are the CRDs' in that chart
(templates/crds/crds.yaml), which tests/testnet/test_archive_backup.py validates against.
"""

from __future__ import annotations

import re
from typing import Any, Optional

from pegasus.config.fields import _quantity
from pegasus.errors import ConfigError
from components.testnet.objects import _Object
from components.testnet.settings import Archive, ArchiveBackup

# Cluster.spec.backup.retentionPolicy's own pattern: days, weeks or months.
RETENTION = re.compile(r"^[1-9][0-9]*[dwm]$")
# The destinations whose credentials we wire: S3 (and S3-compatible stores) and Cloud Storage.
DESTINATION = re.compile(r"^(s3|gs)://[a-z0-9][a-z0-9._-]{1,61}[a-z0-9](/[A-Za-z0-9._/-]*)?$")
_SECRET_NAME = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
# ScheduledBackup.spec.schedule is a robfig/cron expression with a seconds field first
# (six fields), not a Kubernetes CronJob's five: "0 0 3 * * *" is 03:00:00 every day.
_CRON_FIELD = re.compile(r"^[0-9*/,?LW#A-Za-z-]+$")


def _schedule(key: str, value: str) -> str:
    fields = value.split()
    if value.startswith("@"):
        return value
    if len(fields) != 6 or not all(_CRON_FIELD.match(f) for f in fields):
        raise ConfigError(key, f"{value!r} is not a CloudNativePG schedule: six fields, seconds first, like '0 0 3 * * *' "
                          "(03:00:00 daily), or a descriptor like @daily")
    return value


def _backup(path: str, raw: Any) -> Optional[ArchiveBackup]:
    if raw is None:
        return None
    b = _Object(path, raw, ("destination", "schedule", "retention", "credentialsSecret"))
    destination = b.required("destination")
    if not DESTINATION.match(destination):
        raise ConfigError(b.key("destination"), f"{destination!r} is not an object store URL like s3://<bucket>/<path> or "
                          "gs://<bucket>/<path>")
    schedule = _schedule(b.key("schedule"), b.get("schedule", str, "0 0 3 * * *"))
    retention = b.get("retention", str, "30d")
    if not RETENTION.match(retention):
        raise ConfigError(b.key("retention"), f"{retention!r} is not a retention like 30d, 4w or 6m (days, weeks, months)")
    secret = b.required("credentialsSecret")
    if not _SECRET_NAME.match(secret) or len(secret) > 253:
        raise ConfigError(b.key("credentialsSecret"), f"{secret!r} is not a Secret name (DNS-1123)")
    b.check_unknown()
    return ArchiveBackup(destination, schedule, retention, secret)


def parse_archive(path: str, raw: Any) -> Optional[Archive]:
    a = _Object(path, raw, ("enabled", "image", "daemon", "storageSize", "backup"))
    enabled = a.get("enabled", bool, False)
    image, daemon = a.get("image", str), a.get("daemon", str, "")
    size = _quantity(a.key("storageSize"), a.get("storageSize", str, "20Gi"))
    backup = _backup(a.key("backup"), a.raw("backup"))
    a.check_unknown()
    if not enabled:
        return None
    if not image:
        raise ConfigError(a.key("image"), "is required with archive enabled: the archive process image, like minaprotocol/mina-archive:<tag>")
    from pegasus.config.validator import image_reference

    return Archive(image_reference(a.key("image"), image), daemon, size, backup)
