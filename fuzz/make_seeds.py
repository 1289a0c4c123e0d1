#!/usr/bin/env python3
"""Writes the seed corpora under fuzz/corpus/<target>/ (stdlib only; re-run to regenerate).

Seeds are small valid inputs for each parser, so the fuzzer starts from the formats' real shape.
No DICOM seed is kept in the repository (real data stays in ../shared/data): scripts/fuzz.sh
copies the two smallest real CR files from there into the working corpus when they are present.
"""
import hashlib
import io
import os
import shutil
import struct
import sys
import zipfile

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")


def put(target, name, data):
    folder = os.path.join(ROOT, target)
    os.makedirs(folder, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(folder, name), "wb") as f:
        f.write(data)


# --- protobuf, by hand (field numbers from proto/fedxray.proto) ---
def varint(v):
    out = b""
    while True:
        b = v & 0x7F
        v >>= 7
        if v:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def field(number, value):
    if isinstance(value, int):
        return varint(number << 3) + varint(value & 0xFFFFFFFFFFFFFFFF)
    if isinstance(value, str):
        value = value.encode()
    return varint(number << 3 | 2) + varint(len(value)) + value


def npy(descr, shape, data, version=1):
    shape_text = "(" + ", ".join(str(d) for d in shape) + ("," if len(shape) == 1 else "") + ")"
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}"
    size_bytes = 2 if version == 1 else 4
    pad = 64 - (10 + (size_bytes - 2) + len(header) + 1) % 64
    header = header + " " * pad + "\n"
    length = struct.pack("<H" if version == 1 else "<I", len(header))
    return b"\x93NUMPY" + bytes([version, 0]) + length + header.encode() + data


def npy_seeds():
    arrays = {
        "u1_2x3.npy": npy("|u1", [2, 3], bytes(range(6))),
        "f4_vector.npy": npy("<f4", [3], struct.pack("<3f", 0.5, -1.0, 2.0)),
        "i8_scalar.npy": npy("<i8", [], struct.pack("<q", -7)),
        "u2_v2_empty.npy": npy("<u2", [0, 4], b"", version=2),
    }
    for name, data in arrays.items():
        put("npy", name, data)
    return arrays


def npz_seeds(arrays):
    for name, compression in (("stored.zip-seed", zipfile.ZIP_STORED),
                              ("deflated.zip-seed", zipfile.ZIP_DEFLATED)):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", compression) as z:
            for member, array in (("train_images.npy", "u1_2x3.npy"),
                                  ("train_labels.npy", "f4_vector.npy")):
                info = zipfile.ZipInfo(member, date_time=(2024, 1, 1, 0, 0, 0))  # reproducible
                info.compress_type = compression
                z.writestr(info, arrays[array])
        put("npz", name, buf.getvalue())


def csv_seeds():
    put("csv_manifest", "simple.csv", "image,label,patient\na.png,0,p1\nb.png,1,p2\n")
    put("csv_manifest", "quoted.csv",
        'image,label\r\n"dir, with comma/x.png","1"\r\n"say ""hi""\nnext line",0\r\n\r\n')


def model_file_seed():
    tensors = [("conv.weight", 1, [2, 3]), ("fc.bias", 5, [4])]  # FLOAT32, UINT8
    size = {1: 4, 5: 1}
    manifest, raw, offset = field(1, "cnn-small") + field(2, 3) + field(3, 32), b"", 0
    for name, dtype, shape in tensors:
        nbytes = size[dtype]
        for d in shape:
            nbytes *= d
        spec = field(1, name) + field(2, dtype)
        spec += field(3, b"".join(varint(d) for d in shape))  # packed repeated int64
        spec += field(4, offset) + field(5, nbytes)
        manifest += field(4, spec)
        raw += bytes((offset + i) % 251 for i in range(nbytes))
        offset += nbytes
    manifest += field(5, offset)
    data = b"FXMODEL1" + struct.pack("<Q", len(manifest)) + manifest + raw
    put("model_file", "small.fxm", data + hashlib.sha256(raw).hexdigest().encode())


def shamir_seed():
    p = (1 << 61) - 1
    secret = b"abcdefg"  # two words, 7 bytes
    words = [int.from_bytes(secret[i:i + 4].ljust(4, b"\0"), "little") for i in (0, 4)]

    def share(x):
        body = struct.pack("<II", x, len(secret))
        for w, a in zip(words, (5, 11)):
            body += struct.pack("<Q", (w + a * x) % p)
        return body

    shares = [share(1), share(2), share(3)]
    put("shamir_share", "three_of_threshold_2",
        bytes([2]) + b"".join(struct.pack("<H", len(s)) + s for s in shares))
    # A share claiming 2^32 - 1 secret bytes with no values once made recovery allocate 4 GiB.
    huge = struct.pack("<II", 1, 0xFFFFFFFF)
    put("shamir_share", "secret_bytes_wrap", bytes([1]) + struct.pack("<H", len(huge)) + huge)


def secagg_seeds():
    params = b"".join(field(1, f"site-0{i}") for i in range(3))
    params += field(2, 2) + field(3, 0) + field(4, "fuzz-seed") + field(5, 8)
    params += varint(6 << 3 | 1) + struct.pack("<d", 1024.0)
    params += varint(7 << 3 | 1) + struct.pack("<d", 1.0)
    put("secagg_round_params", "three_sites", params)
    # neighbours = INT_MAX once overflowed NeighbourGraph (tests/fuzz_regression_test.cc).
    put("secagg_round_params", "neighbours_int_max",
        b"".join(field(1, f"site-0{i}") for i in range(3)) + field(2, 2) + field(3, 0x7FFFFFFF))

    def chunks(*parts):
        return b"".join(struct.pack("<H", len(p)) + p for p in parts)

    put("secagg_messages", "honest", b"")
    put("secagg_messages", "renamed_advert", chunks(field(1, "site-01")))
    put("secagg_messages", "extra_share", chunks(b"", field(1, field(1, "site-02") +
                                                         field(2, "site-00") + field(3, b"x"))))
    put("secagg_messages", "receipt_rejects",
        chunks(b"", b"", field(2, field(1, "site-00") + field(2, "bad tag"))))
    reveal = field(1, "site-01") + field(2, 1) + field(3, struct.pack("<IIQ", 1, 4, 9))
    put("secagg_messages", "reveal_wrong_kind", chunks(b"", b"", b"", field(1, reveal)))


def config_seeds():
    repo = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    identity = ("  name: {name}\n  coordinator: \"coordinator.example:50051\"\n"
                "  certificate: {name}.crt\n  private_key: {name}.key\n  ca_certificate: ca.crt\n")
    put("site_config", "synthetic.yaml",
        "site:\n" + identity.format(name="site-a") + "  threads: 0\n  data:\n"
        "    source: synthetic\n    images: 600\n    held_out_fraction: 0.2\n    seed: 1\n")
    put("site_config", "image_folder.yaml",
        "site:\n" + identity.format(name="site-b") + "  data:\n    source: image_folder\n"
        "    manifest: images/manifest.csv\n    image_column: image\n    label_column: label\n"
        "    patient_column: patient\n    deid_cache: cache\n")
    put("admin_config", "admin.yaml", "admin:\n" + identity.format(name="alice"))
    put("coordinator_config", "coordinator.yaml",
        "coordinator:\n  listen: \"0.0.0.0:50051\"\n  certificate: coordinator.crt\n"
        "  private_key: coordinator.key\n  ca_certificate: ca.crt\n  state_dir: state\n"
        "  heartbeat_timeout_s: 60\n  sites:\n    - site-a\n    - site-b\n")
    for target, source in (("job_config", "configs/job.yaml"),
                           ("consortium_config", "configs/consortium.yaml"),
                           ("simulation_config", "configs/quickstart.yaml"),
                           ("simulation_config", "configs/bench/two-institutions.yaml")):
        os.makedirs(os.path.join(ROOT, target), exist_ok=True)
        shutil.copy(os.path.join(repo, source), os.path.join(ROOT, target))


def log_seeds():
    put("json_log_line", "round", "site=site-a job=nih-1 round=3 uploaded 1.2 MB")
    put("json_log_line", "level_and_bad_round", "warn\0round=99999999999 site= job=x=y \xff")


def audit_seeds():
    put("audit_log", "untouched", b"")
    put("audit_log", "edit_detail", bytes([0 | 5 << 2, 1, 4]) + b"edit")
    put("audit_log", "delete_newest", bytes([1, 2, 0]))
    put("audit_log", "head_ahead", bytes([3, 0, 8]) + b"4 abcdef")


if __name__ == "__main__":
    npz_seeds(npy_seeds())
    csv_seeds()
    model_file_seed()
    shamir_seed()
    secagg_seeds()
    config_seeds()
    log_seeds()
    audit_seeds()
