#!/usr/bin/env python3
"""Smoke check for the harness services (stdlib only).

Run after wordpress.sh / postgres.sh:  python3 tests/harness/smoke_check.py
Checks per WordPress site: REST discovery Link header, post creation with the admin's and the
editor's application password (201), media upload (201), wrong password (401) and XML-RPC
wp.getUsersBlogs with an application password. Checks PostgreSQL if postgres.env exists and
psql is installed. Exits non-zero on the first failure.
"""
import base64
import json
import os
import shutil
import struct
import subprocess
import sys
import urllib.error
import urllib.request
import xmlrpc.client
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))


def load_env(name):
    env = {}
    with open(os.path.join(HERE, name)) as f:
        for line in f:
            line = line.strip()
            if line and not line.startswith("#"):
                k, _, v = line.partition("=")
                env[k] = v
    return env


def tiny_png():
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    raw = b"\x00\xff\x00\x00"  # one red pixel, filter byte 0
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def call(method, url, user=None, password=None, body=None, headers=None):
    req = urllib.request.Request(url, data=body, method=method, headers=dict(headers or {}))
    if user:
        token = base64.b64encode(f"{user}:{password}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def check(cond, msg):
    print(("ok   " if cond else "FAIL ") + msg)
    if not cond:
        sys.exit(1)


def check_site(env, site):
    p = f"SWP_TEST_WP_{site.upper()}"
    url = env[f"{p}_URL"]
    user, pw = env[f"{p}_USER"], env[f"{p}_APP_PASSWORD"]
    ed_user, ed_pw = env[f"{p}_EDITOR_USER"], env[f"{p}_EDITOR_APP_PASSWORD"]
    route = (lambda r: f"{url}/?rest_route={r}") if site == "hub" else (lambda r: f"{url}/wp-json{r}")

    st, hdr, _ = call("HEAD", url + "/")
    check(st == 200 and 'rel="https://api.w.org/"' in hdr.get("Link", ""), f"{site}: discovery Link header")

    st, hdr, _ = call("GET", url + "/wp-json/")
    expect = "text/html" if site == "hub" else "application/json"
    check(st == 200 and expect in hdr.get("Content-Type", ""), f"{site}: /wp-json/ is {expect}")

    js = {"Content-Type": "application/json"}
    post = json.dumps({"title": f"smoke {site}", "content": "hallo", "status": "publish"}).encode()
    st, _, body = call("POST", route("/wp/v2/posts"), user, pw, post, js)
    check(st == 201, f"{site}: admin creates post -> {st}")
    link = json.loads(body)["link"]
    st, _, _ = call("GET", link)
    check(st == 200, f"{site}: post permalink {link} -> {st}")

    st, _, body = call("POST", route("/wp/v2/posts"), ed_user, ed_pw, post, js)
    check(st == 201 and json.loads(body)["status"] == "publish", f"{site}: editor publishes post -> {st}")

    st, _, body = call("POST", route("/wp/v2/media"), user, pw, tiny_png(),
                       {"Content-Type": "image/png", "Content-Disposition": 'attachment; filename="smoke.png"'})
    check(st == 201, f"{site}: media upload -> {st}")
    src = json.loads(body)["source_url"]
    st, _, data = call("GET", src)
    check(st == 200 and data.startswith(b"\x89PNG"), f"{site}: uploaded file served at {src}")

    st, _, _ = call("POST", route("/wp/v2/posts"), user, "wrong wrong wrong", post, js)
    check(st == 401, f"{site}: wrong password -> {st}")

    blogs = xmlrpc.client.ServerProxy(f"{url}/xmlrpc.php").wp.getUsersBlogs(user, pw)
    check(blogs and blogs[0]["isAdmin"], f"{site}: XML-RPC wp.getUsersBlogs with app password")


def check_postgres():
    if not os.path.exists(os.path.join(HERE, "postgres.env")) or not shutil.which("psql"):
        print("skip postgres (no postgres.env or psql)")
        return
    pg_url = load_env("postgres.env")["SWP_TEST_POSTGRES_URL"].replace("+psycopg", "")
    out = subprocess.run(["psql", pg_url, "-tAc", "select current_user || '@' || current_database()"],
                         capture_output=True, text=True)
    check(out.returncode == 0 and out.stdout.strip() == "swp@swp_test", f"postgres: psql {out.stdout.strip()}")


if __name__ == "__main__":
    env = load_env("wordpress.env")
    for s in ("hub", "member"):
        check_site(env, s)
    check_postgres()
