#!/usr/bin/env python3
"""make_fixtures.py ROOTDIR -- lay out what server.py serves.

ROOTDIR/simple/                     PEP 503 simple index (index.html per project)
ROOTDIR/packages/safesockdemo-0.1-py3-none-any.whl   a valid pure-Python wheel
ROOTDIR/git/demo.git                a bare repo with `git update-server-info` run
                                    (dumb HTTP; server.py also does smart HTTP
                                    for /smart/demo.git via git http-backend)
Uses only the standard library and git; makes no network connection.
"""
import base64
import hashlib
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile

NAME, VERSION = "safesockdemo", "0.1"


def _record_hash(data):
    d = hashlib.sha256(data).digest()
    return "sha256=" + base64.urlsafe_b64encode(d).rstrip(b"=").decode()


def make_wheel(outdir):
    dist_info = "%s-%s.dist-info" % (NAME, VERSION)
    files = {
        "%s/__init__.py" % NAME: b'"""Demo package for the safesock compatibility kit."""\nGREETING = "hello"\n',
        "%s/METADATA" % dist_info: ("Metadata-Version: 2.1\nName: %s\nVersion: %s\n"
                                    "Summary: safesock compatibility kit demo\n" % (NAME, VERSION)).encode(),
        "%s/WHEEL" % dist_info: b"Wheel-Version: 1.0\nGenerator: make_fixtures.py\n"
                                b"Root-Is-Purelib: true\nTag: py3-none-any\n",
        "%s/top_level.txt" % dist_info: (NAME + "\n").encode(),
    }
    record = "".join("%s,%s,%d\n" % (p, _record_hash(d), len(d)) for p, d in files.items())
    record += "%s/RECORD,,\n" % dist_info
    files["%s/RECORD" % dist_info] = record.encode()
    path = os.path.join(outdir, "%s-%s-py3-none-any.whl" % (NAME, VERSION))
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for p, d in files.items():
            zi = zipfile.ZipInfo(p, date_time=(2020, 1, 1, 0, 0, 0))
            zi.external_attr = 0o644 << 16
            zi.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(zi, d)
    return path


def make_index(root, wheel):
    with open(wheel, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    fname = os.path.basename(wheel)
    os.makedirs(os.path.join(root, "simple", NAME), exist_ok=True)
    with open(os.path.join(root, "simple", "index.html"), "w") as f:
        f.write('<!DOCTYPE html>\n<html><body>\n<a href="%s/">%s</a>\n</body></html>\n' % (NAME, NAME))
    with open(os.path.join(root, "simple", NAME, "index.html"), "w") as f:
        f.write('<!DOCTYPE html>\n<html><body>\n<a href="../../packages/%s#sha256=%s">%s</a>\n'
                '</body></html>\n' % (fname, digest, fname))


def make_git(root):
    env = dict(os.environ, GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull,
               GIT_AUTHOR_NAME="kit", GIT_AUTHOR_EMAIL="kit@example.invalid",
               GIT_COMMITTER_NAME="kit", GIT_COMMITTER_EMAIL="kit@example.invalid",
               GIT_AUTHOR_DATE="2020-01-01T00:00:00Z", GIT_COMMITTER_DATE="2020-01-01T00:00:00Z")
    bare = os.path.join(root, "git", "demo.git")
    shutil.rmtree(bare, ignore_errors=True)
    work = tempfile.mkdtemp(prefix="kit-git-")
    try:
        run = lambda *a, **k: subprocess.run(a, check=True, env=env, stdout=subprocess.DEVNULL, **k)
        run("git", "init", "-q", "-b", "main", work)
        with open(os.path.join(work, "README"), "w") as f:
            f.write("hello from the safesock compatibility kit\n")
        run("git", "-C", work, "add", "README")
        run("git", "-C", work, "commit", "-q", "-m", "first")
        run("git", "clone", "-q", "--bare", work, bare)
        # http-backend serves a repo only if it is exported (or GIT_HTTP_EXPORT_ALL is set)
        open(os.path.join(bare, "git-daemon-export-ok"), "w").close()
        run("git", "-C", bare, "update-server-info")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return bare


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    root = os.path.abspath(sys.argv[1])
    os.makedirs(os.path.join(root, "packages"), exist_ok=True)
    wheel = make_wheel(os.path.join(root, "packages"))
    make_index(root, wheel)
    make_git(root)
    for dirpath, dirnames, filenames in os.walk(root):  # readable by nobody too
        os.chmod(dirpath, 0o755)
        for fn in filenames:
            os.chmod(os.path.join(dirpath, fn), 0o644)
    print("fixtures in %s" % root)


if __name__ == "__main__":
    main()
