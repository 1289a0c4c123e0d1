#!/usr/bin/env bash
# PACS ingest, measured against a real Orthanc on loopback: N real CR radiographs (the two
# uncompressed WG04 images of ../shared/data/dicom-cr-samples, 6-7 MB each, copied with fresh
# UIDs, accession numbers and patient IDs by dcmodify) are stored in Orthanc, then a site syncs
# them with `fedxray site --pacs-sync` over DICOMweb and over DIMSE. Prints, per protocol:
# instances/s and MB/s of the first sync (retrieve + de-identify + decode check + record), the
# time of a second sync with nothing new, and a sync killed with SIGKILL half-way and resumed.
#   bench/pacs_ingest.sh [N]        (default 60; needs build/fedxray, Orthanc, dcmtk, curl)
set -euo pipefail
[ -n "${PACS_BENCH_DEBUG:-}" ] && set -x
cd "$(dirname "$0")/.."
n=${1:-60}
src=../shared/data/dicom-cr-samples/wg04
[ -f "$src/RG2_UNC.dcm" ] || { echo "pacs_ingest: $src is absent (real data lives in ../shared/data)" >&2; exit 1; }
bin="$(pwd)/build/fedxray"
out="$(mktemp -d)"
orthanc_pid=""
trap '[ -n "$orthanc_pid" ] && kill "$orthanc_pid" 2>/dev/null; rm -rf "$out"' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
http=$(free_port); dicom=$(free_port)
mkdir -p "$out/storage" "$out/made"
cat > "$out/orthanc.json" <<JSON
{ "Name": "bench", "StorageDirectory": "$out/storage", "IndexDirectory": "$out/storage",
  "Plugins": ["/usr/share/orthanc/plugins/libOrthancDicomWeb.so"],
  "HttpPort": $http, "RemoteAccessAllowed": false, "AuthenticationEnabled": false,
  "HttpCompressionEnabled": false,
  "DicomServerEnabled": true, "DicomAet": "ORTHANC", "DicomPort": $dicom,
  "DicomAlwaysAllowFind": true, "DicomAlwaysAllowGet": true, "DicomCheckCalledAet": true,
  "DicomWeb": { "Enable": true, "Root": "/dicom-web/" } }
JSON
# TCP_NODELAY: Orthanc's DICOM server is DCMTK's, which keeps Nagle's algorithm on without it;
# a PACS in production has its own setting. fedxray sets it for its own side.
TCP_NODELAY=1 /usr/sbin/Orthanc "$out/orthanc.json" > "$out/orthanc.log" 2>&1 &
orthanc_pid=$!
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$http/system" > /dev/null && break; sleep 0.1; done

echo "accession_number,label" > "$out/labels.csv"
for i in $(seq 1 "$n"); do
  f="$out/made/$i.dcm"
  if (( i % 2 )); then cp "$src/RG2_UNC.dcm" "$f"; else cp "$src/RG3_UNC.dcm" "$f"; fi
  dcmodify -nb -gin -gst -gse -ma "AccessionNumber=BENCH$i" -ma "PatientID=BP$((i % 20))" "$f" 2> /dev/null
  curl -sf -X POST --data-binary "@$f" "http://127.0.0.1:$http/instances" > /dev/null
  echo "BENCH$i,$((i % 2))" >> "$out/labels.csv"
  rm "$f"
done
total_mb=$(du -sm "$out/storage" | cut -f1)
echo "pacs_ingest: $n instances in Orthanc ($total_mb MB stored)"

site_yaml() {  # protocol cache
  local connection
  if [ "$1" = dicomweb ]; then
    connection="      url: http://127.0.0.1:$http/dicom-web"
  else
    connection="      protocol: dimse
      host: 127.0.0.1
      port: $dicom
      called_ae: ORTHANC"
  fi
  cat <<YAML
site:
  name: bench-site
  coordinator: 127.0.0.1:1
  certificate: unused.crt
  private_key: unused.key
  ca_certificate: unused-ca.crt
  data:
    source: pacs
    deid_cache: $out/deid-$1
    pacs:
$connection
      labels: $out/labels.csv
      cache: $2
YAML
}
field() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])" "$1" "$2"; }
json_of() { sed -n '/^{$/,/^}$/p' "$1" > "$1.json"; echo "$1.json"; }

printf "%-9s %10s %8s %14s %22s\n" protocol "inst/s" "MB/s" "no-op sync s" "resume after kill"
for protocol in dicomweb dimse; do
  yaml="$out/$protocol.yaml"
  site_yaml "$protocol" "$out/cache-$protocol" > "$yaml"
  "$bin" --log-level warn site --config "$yaml" --pacs-sync > "$out/first.log" 2>&1
  j=$(json_of "$out/first.log")
  secs=$(field "$j" seconds); bytes=$(field "$j" bytes_retrieved); fetched=$(field "$j" fetched)
  "$bin" --log-level warn site --config "$yaml" --pacs-sync > "$out/again.log" 2>&1
  noop=$(field "$(json_of "$out/again.log")" seconds)
  # Resume: a fresh cache, killed once half the instances are recorded.
  yaml2="$out/$protocol-kill.yaml"
  site_yaml "$protocol" "$out/kill-$protocol" > "$yaml2"
  "$bin" --log-level warn site --config "$yaml2" --pacs-sync > "$out/killed.log" 2>&1 &
  pid=$!
  while [ "$(cat "$out/kill-$protocol/instances.jsonl" 2> /dev/null | wc -l)" -lt $((n / 2)) ]; do
    kill -0 "$pid" 2> /dev/null || break
    sleep 0.02
  done
  kill -9 "$pid" 2> /dev/null || true
  wait "$pid" 2> /dev/null || true
  before=$(wc -l < "$out/kill-$protocol/instances.jsonl")
  "$bin" --log-level warn site --config "$yaml2" --pacs-sync > "$out/resumed.log" 2>&1
  r=$(json_of "$out/resumed.log")
  resume="$(field "$r" already_cached) kept, $(field "$r" fetched) fetched"
  [ "$(wc -l < "$out/kill-$protocol/instances.jsonl")" = "$n" ] || resume="$resume (RECORD COUNT WRONG)"
  python3 - "$protocol" "$fetched" "$secs" "$bytes" "$noop" "$resume (killed at $before)" <<'PY'
import sys
p, fetched, secs, b, noop, resume = sys.argv[1:]
secs = float(secs)
print(f"{p:<9} {int(fetched)/secs:10.1f} {int(b)/1e6/secs:8.1f} {float(noop):14.3f} {resume:>22}")
PY
done
