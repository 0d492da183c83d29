#!/usr/bin/python3
"""How the gateway reads a connection (t/s3.sh): two presigned PUTs with
bodies larger than one read of the gateway (256 KiB, s3_read_more in
src/s3/s3.c) sent back to back on one socket, the client's side then shut
for writing, and both answers read; then both objects got back.  Each line
printed is "ok NAME" or "not ok NAME: why".  Endpoint, key id and secret
come from the environment (S3_ENDPOINT, AWS_ACCESS_KEY_ID,
AWS_SECRET_ACCESS_KEY); the bucket is "photos"."""
import os
import socket
import sys
import urllib.parse

import boto3
from botocore.config import Config

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from tap import want  # noqa: E402

ep = os.environ["S3_ENDPOINT"]
s3 = boto3.client("s3", endpoint_url=ep, region_name="us-east-1",
                  config=Config(retries={"max_attempts": 1}, s3={"addressing_style": "path"},
                                signature_version="s3v4"))
bodies = {"pipe-a": os.urandom(700 * 1024 + 7), "pipe-b": os.urandom(1300 * 1024 + 3)}
host = urllib.parse.urlsplit(ep).netloc
wire = b""
for key, body in bodies.items():
    url = urllib.parse.urlsplit(s3.generate_presigned_url(
        "put_object", Params={"Bucket": "photos", "Key": key}, ExpiresIn=600))
    wire += ("PUT %s?%s HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n"
             % (url.path, url.query, host, len(body))).encode() + body

sock = socket.create_connection((urllib.parse.urlsplit(ep).hostname, urllib.parse.urlsplit(ep).port))
sock.settimeout(30)
sock.sendall(wire)
sock.shutdown(socket.SHUT_WR)
answer = b""
try:
    while True:
        got = sock.recv(65536)
        if not got:
            break
        answer += got
except socket.timeout:
    pass
sock.close()
statuses = [line.split(b" ")[1] for line in answer.split(b"\r\n") if line.startswith(b"HTTP/1.1 ")]
want("two pipelined PUTs of 700 KiB and 1.3 MiB, then a half-close: both answered 200",
     statuses, [b"200", b"200"])
for key, body in bodies.items():
    try:
        got = s3.get_object(Bucket="photos", Key=key)["Body"].read()
    except Exception as e:  # noqa: BLE001 (any failure is the check's)
        got = repr(e).encode()
    want("the pipelined %s reads back byte-identical" % key, got == body, True)
    s3.delete_object(Bucket="photos", Key=key)
