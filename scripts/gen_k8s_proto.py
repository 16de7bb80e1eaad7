#!/usr/bin/env python3
"""Regenerate kubevigil/sim/k8s-types.binpb, the FileDescriptorSet the emulator decodes protobuf bodies with.

Usage: .venv/bin/python scripts/gen_k8s_proto.py [--proto-root ../shared/k8s-proto] [--out PATH]
(needs grpcio-tools, in the `test` extra). Compiles the stable API groups (every `k8s.io/api/*/v<N>`) and
apimachinery's types. Comments are dropped except one fact per field the decoder needs: whether the field is
marked `+optional` (Go's `omitempty`), kept as that field's leading comment.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from google.protobuf import descriptor_pb2
from grpc_tools import protoc

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "kubevigil" / "sim" / "k8s-types.binpb"
_STABLE = re.compile(r"^k8s\.io/api/[a-z]+/v\d+/generated\.proto$")
# FileDescriptorProto.message_type = 4, DescriptorProto.field = 2, DescriptorProto.nested_type = 3.
_MESSAGE, _FIELD, _NESTED = 4, 2, 3


def _sources(root: Path) -> list[str]:
    files = sorted(str(p.relative_to(root)) for p in root.rglob("generated.proto"))
    return [f for f in files if f.startswith("k8s.io/apimachinery/") or _STABLE.match(f)]


def _is_field_path(path: list[int]) -> bool:
    """[4, m, (3, n)*, 2, f]: a field of a (possibly nested) message."""
    if len(path) < 4 or path[0] != _MESSAGE or len(path) % 2:
        return False
    return path[-2] == _FIELD and all(tag == _NESTED for tag in path[2:-2:2])


def _keep_optional_marks(fds: descriptor_pb2.FileDescriptorSet) -> None:
    for file in fds.file:
        kept = []
        for loc in file.source_code_info.location:
            if _is_field_path(list(loc.path)) and "+optional" in loc.leading_comments:
                mark = descriptor_pb2.SourceCodeInfo.Location(path=loc.path, span=loc.span[:1] * 3)
                mark.leading_comments = "+optional"
                kept.append(mark)
        file.source_code_info.Clear()
        file.source_code_info.location.extend(kept)


def generate(proto_root: Path, out: Path) -> int:
    sources = _sources(proto_root)
    raw = out.with_suffix(".tmp")
    args = ["protoc", f"-I{proto_root}", "--include_imports", "--include_source_info",
            f"--descriptor_set_out={raw}", *sources]
    if protoc.main(args) != 0:
        print(f"gen_k8s_proto: protoc failed on {proto_root}", file=sys.stderr)
        return 1
    fds = descriptor_pb2.FileDescriptorSet.FromString(raw.read_bytes())
    raw.unlink()
    _keep_optional_marks(fds)
    out.write_bytes(fds.SerializeToString(deterministic=True))
    print(f"wrote {out} ({len(fds.file)} files, {out.stat().st_size} bytes)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--proto-root", type=Path, default=ROOT.parent / "shared" / "k8s-proto")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = parser.parse_args()
    if not args.proto_root.is_dir():
        print(f"gen_k8s_proto: --proto-root {args.proto_root} is not a directory", file=sys.stderr)
        return 2
    return generate(args.proto_root.resolve(), args.out)


if __name__ == "__main__":
    sys.exit(main())
