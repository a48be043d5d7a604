"""Platform benchmarks: each figure is printed beside a baseline measured in the same run.

    make bench            (or: .venv/bin/python bench/run.py [--rows N])

Runs on a throw-away SQLite database under a temporary JINDU_VAR_DIR (DATABASE_URL is honoured, so
the same script measures PostgreSQL). Not part of the test suite.
"""

import argparse
import io
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django():
    os.environ.setdefault("JINDU_VAR_DIR", tempfile.mkdtemp(prefix="jindu-bench-"))
    os.environ["DJANGO_SETTINGS_MODULE"] = "jindu.settings"
    os.environ["JINDU_JOBS_IMMEDIATE"] = "1"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    call_command("load_divisions", verbosity=0, stdout=io.StringIO())


def timed(fn, repeat=1):
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


ROWS = []


def report(name, value, unit, baseline_name, baseline, note=""):
    ROWS.append((name, value, unit, baseline_name, baseline, note))
    print(f"{name:<44} {value:>12,.1f} {unit:<10} | {baseline_name:<34} {baseline:>12,.1f} {unit:<10} {note}",
          flush=True)


def bench_audited_writes(n):
    from core.context import acting_as
    from orgs.models import Organization

    def audited():
        with acting_as(username="bench"):
            for i in range(n):
                Organization(name=f"审计写入{i}", type="school", area_code="320508001").save()

    def plain():
        Organization.objects.bulk_create(
            [Organization(name=f"批量写入{i}", type="school", area_code="320508002") for i in range(n)])

    t_audit, t_plain = timed(audited), timed(plain)
    report("audited save() (row + ChangeLog + chain)", n / t_audit, "rows/s", "bulk_create without audit", n / t_plain)


def bench_verify():
    from core.audit import compute_row_hash, verify_chain
    from core.models import ChangeLog

    count = ChangeLog.objects.count()
    rows = list(ChangeLog.objects.all())
    t_verify = timed(lambda: verify_chain(ChangeLog))
    t_hash = timed(lambda: [compute_row_hash(r) for r in rows])
    report("audit_verify (read + re-hash chain)", count / t_verify, "rows/s", "SM3 re-hash of rows in memory",
           count / t_hash)


def bench_restricted_list(requests):
    from rest_framework.test import APIClient

    from core.context import acting_as
    from orgs.models import Organization
    from users.models import ApiToken, Role, User

    with acting_as(username="bench"):
        user = User(username="bench_district", role=Role.objects.get(code="district_office"), area_code="320508")
        user.set_password("Bench-pass-2026")
        user.save()
        admin = User(username="bench_sys", role=Role.objects.get(code="system_admin"))
        admin.set_password("Bench-pass-2026")
        admin.save()
    clients = {}
    for u in (user, admin):
        _t, key = ApiToken.issue(u)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
        clients[u.username] = client
    assert Organization.objects.count() > 100

    def run(client):
        samples = []
        for _ in range(requests):
            start = time.perf_counter()
            response = client.get("/api/orgs/organizations/?limit=50")
            samples.append(time.perf_counter() - start)
            assert response.status_code == 200
        return statistics.median(samples) * 1000

    scoped, unscoped = run(clients["bench_district"]), run(clients["bench_sys"])
    report("API list 50 orgs, district scope (median)", scoped, "ms", "same list, global scope", unscoped)


def bench_import(n):
    from openpyxl import Workbook

    from core import imports
    from core.context import acting_as
    from orgs.imports import ORGANIZATION_IMPORT
    from users.models import User
    from utilities.excel import read_rows

    wb = Workbook()
    ws = wb.active
    ws.append(["名称", "类型", "区划代码", "联系人"])
    for i in range(n):
        ws.append([f"导入学校{i}", "学校", "320508001", f"联系人{i}"])
    buffer = io.BytesIO()
    wb.save(buffer)
    content = buffer.getvalue()
    user = User.objects.get(username="bench_district")
    with acting_as(user):
        t_validate = timed(lambda: imports.start_import(ORGANIZATION_IMPORT, user, f"bench-{time.time()}.xlsx",
                                                        content))
    t_read = timed(lambda: read_rows(content, "x.xlsx"))
    report(f"import: read + validate {n} rows", n / t_validate, "rows/s", "openpyxl read only", n / t_read)
    from core.models import ImportBatch

    batch = ImportBatch.objects.filter(status="ready").latest("pk")
    with acting_as(user):
        t_commit = timed(lambda: imports.commit(batch, user))
    batch.refresh_from_db()
    assert batch.status == "committed", batch.errors
    report(f"import: commit {n} rows (re-validate + audited save)", n / t_commit, "rows/s", "openpyxl read only",
           n / t_read)


def bench_crypto(n):
    import secrets as s

    from cryptography.hazmat.primitives.ciphers.aead import AESGCM

    from core.fields import key_ring
    from utilities import crypto

    ring = key_ring()
    values = [f"3205081990{i:08d}" for i in range(n)]
    t_sm4 = timed(lambda: [crypto.decrypt(ring, crypto.encrypt(ring, v, b"x"), b"x") for v in values])
    aes = AESGCM(AESGCM.generate_key(bit_length=128))

    def aes_round():
        for v in values:
            nonce = s.token_bytes(12)
            aes.decrypt(nonce, aes.encrypt(nonce, v.encode(), b"x"), b"x")

    t_aes = timed(aes_round)
    report("SM4-GCM encrypt+decrypt (field token)", n / t_sm4, "values/s", "AES-128-GCM raw encrypt+decrypt",
           n / t_aes)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2000)
    args = parser.parse_args()
    setup_django()
    from django.db import connection

    print(f"Jindu platform benchmarks — database: {connection.vendor}, rows: {args.rows}")
    print(f"{'figure':<44} {'value':>12} {'unit':<10} | {'baseline (same run)':<34} {'value':>12}")
    bench_audited_writes(args.rows)
    bench_verify()
    bench_restricted_list(200)
    bench_import(args.rows)
    bench_crypto(20000)


if __name__ == "__main__":
    main()
