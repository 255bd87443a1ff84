#!/usr/bin/env bash
# The demo's scenarios across hosts, run as the organisations' operators would, with the
# `symbolon` command line against their running connectors (each reached at
# https://<name>:8443 through its data directory's serve.url and admin token). compose.yaml
# runs it as the one-shot `scenarios` service, scripts/netns.sh in a namespace of its own.
#
#   scenarios.sh [all]              onboarding; the salary average; the study across hosts
#                                   (agreed, refused, computed); the fraud signal (PSI); the
#                                   trial sponsor onboarding three sites and revoking one; the
#                                   auditor's verification; fails at the first check that does
#                                   not hold
#   scenarios.sh cut-start HOST     starts a study session and returns once it runs (its id on
#                                   stdout), for the caller to cut HOST off the network then
#   scenarios.sh cut-check ID HOST CUT
#                                   waits until session ID has ended on every party but HOST,
#                                   and checks it failed there after CUT (the time HOST was cut
#                                   off, seconds since the epoch) with a reason, without a result
#
# Environment: SPACE (the data directories, $SPACE/<name>), SHARED (pki/ca.crt, peers/,
# results/), CAST (the cast file; default: cast.txt beside this script), STUDY_DATA (the
# synthetic study's CSV files and expected.json), SYMBOLON (the binary; default `symbolon`),
# TIMES (a file to append `step<TAB>seconds` lines to; optional).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
: "${SPACE:?scenarios.sh needs SPACE, the folder of the data directories}"
: "${SHARED:?scenarios.sh needs SHARED, the folder with pki/ and peers/}"
CAST=${CAST:-$here/cast.txt}
STUDY_DATA=${STUDY_DATA:-$here/../mpc/tests/data/ppa-study/n4000}
SYMBOLON=${SYMBOLON:-symbolon}
PORT=${PORT:-8443}
results=$SHARED/results
mkdir -p "$results"

die() { echo "error: $*" >&2; exit 1; }
for tool in "$SYMBOLON" jq curl; do
  command -v "$tool" > /dev/null || die "scenarios.sh needs \`$tool\`, which is not on PATH"
done
for file in "$CAST" "$SHARED/pki/ca.crt" "$STUDY_DATA/insurer.csv" "$STUDY_DATA/hospital.csv" \
  "$STUDY_DATA/cbs.csv" "$STUDY_DATA/expected.json"; do
  [ -s "$file" ] || die "missing $file"
done
export SSL_CERT_FILE=$SHARED/pki/ca.crt
https() { curl -fsS --cacert "$SSL_CERT_FILE" "$@"; }

sy() { "$SYMBOLON" "$@"; }
d() { echo "$SPACE/$1"; }
url() { echo "https://$1:$PORT"; }
dsp() { echo "https://$1:$PORT/dsp/2025-1"; }
did() { sy did show --data-dir "$(d "$1")"; }
# The cast: `name role did p2p` lines.
cast() { grep -v '^[[:space:]]*\(#\|$\)' "$CAST"; }
role() { cast | awk -v n="$1" '$1 == n {print $2}'; }
members() { cast | awk '$2 != "Authority" {print $1}'; }
peers_of_network() { cast | awk '$4 == "yes" {print $1}'; }

# Steps: each timed from the end of the one before, printed and appended to $TIMES.
scenario() { printf '\n%s\n' "$*"; mark=$(date +%s.%N); }
ok() {
  local now seconds
  now=$(date +%s.%N)
  seconds=$(awk -v a="$mark" -v b="$now" 'BEGIN {printf "%.2f", b - a}')
  printf '  ✓ %s  (%s s)\n' "$1" "$seconds"
  if [ -n "${TIMES:-}" ]; then printf '%s\t%s\n' "$1" "$seconds" >> "$TIMES"; fi
  mark=$now
}
mark=$(date +%s.%N)

# Waits until every organisation answers over HTTPS (at most a minute each).
wait_for_hosts() {
  local name
  for name in $(cast | awk '{print $1}'); do
    for _ in $(seq 120); do
      https --max-time 2 "$(url "$name")/.well-known/dspace-version" > /dev/null 2>&1 && break
      sleep 0.5
    done
    https --max-time 5 "$(url "$name")/.well-known/dspace-version" > /dev/null \
      || die "$name does not answer at $(url "$name")"
  done
}

# Waits until NAME's connector has authenticated COUNT peers on the peer network.
wait_for_peers() {
  local name=$1 count=$2 seen=0
  for _ in $(seq 120); do
    seen=$(sy peers --data-dir "$(d "$name")" --json 2> /dev/null \
      | jq '[.[] | select(.authenticated == true)] | length' 2> /dev/null || echo 0)
    [ "$seen" -ge "$count" ] && return 0
    sleep 0.5
  done
  die "$name authenticated $seen peers in 60 s, not $count"
}

# A policy letting a statistics bureau of the data space run PROGRAM on OFFER over groups of
# at least K.
computation_policy() {
  printf '%s\n' "policy \"$1-computation\" {" "  permit join_computation on offer \"$1\"" \
    '  when holder.role == "StatisticsBureau" and holder.member_of == "hds"' \
    "   and session.program in [\"$2\"] and session.min_group_size >= $3" '}'
}
STUDY_POLICY=$(computation_policy study linked-group-stats 10)
INCOME_POLICY=$(computation_policy income linked-group-stats 10)
PARAMS='{"group": {"column": "income_group", "values": [1, 2, 3, 4, 5]}, "treatment": "uses_app",
  "outcomes": [{"column": "annual_cost_eur", "max": 200000}, {"column": "outpatient_visits", "max": 60}]}'

# Publishes computation offer `id` of NAME over its management API, bound to FILE with COLUMNS
# (a JSON object) and its records identified by the `pseudonym` column, under POLICY; HEALTH
# `true` makes it a health offer that needs a data permit.
offer_computation() {
  offer_bound "$1" "$2" "$(jq -n --arg file "$3" --argjson columns "$4" \
    '{file: $file, ids: "pseudonym", columns: $columns}')" "$5" "$6"
}

# Publishes computation offer `id` of NAME bound as BINDING (a JSON object), under POLICY.
offer_bound() {
  local name=$1 id=$2 binding=$3 policy=$4 health=$5 body
  body=$(jq -n --arg id "$id" --arg policy "$policy" --argjson binding "$binding" \
    --argjson health "$health" '{id: $id, title: $id, kind: "computation", policy: $policy,
      binding: $binding} + (if $health then {health: {requires_permit: true}} else {} end)')
  https --max-time 30 -H "Authorization: Bearer $(cat "$(d "$name")/admin.token")" \
    -H 'Content-Type: application/json' -d "$body" "$(url "$name")/api/v1/offers" > /dev/null \
    || die "$name did not publish offer $id"
}

# Negotiates OFFER of PROVIDER as CONSUMER for PURPOSE (none if empty); the agreement id once
# FINALIZED.
agree() {
  local consumer=$1 provider=$2 offer=$3 purpose=${4:-} answer args=()
  [ -z "$purpose" ] || args=(--purpose "$purpose")
  answer=$(sy negotiate --data-dir "$(d "$consumer")" --provider "$(dsp "$provider")" \
    --offer "$offer" "${args[@]}" --wait 30 --json) \
    || die "$consumer could not agree on $offer with $provider: $answer"
  jq -er '.agreement_id' <<< "$answer"
}

# Starts the study as the bureau over AGREEMENTS; prints the session's JSON and result.
start_study() {
  local round_timeout=$1 no_wait=$2
  shift 2
  local args=()
  for agreement in "$@"; do args+=(--agreement "$agreement"); done
  sy session start --data-dir "$(d statistics-bureau)" --program linked-group-stats \
    --params "$PARAMS" "${args[@]}" --input-offer income --k 10 --purpose scientific-research \
    --join-seconds 30 --round-timeout-ms "$round_timeout" $no_wait --json
}

onboarding() {
  scenario "0. The hosts: every organisation's connector answers over HTTPS"
  wait_for_hosts
  ok "$(cast | wc -l) connectors answer at https://<name>:$PORT with certificates of the local CA"

  scenario "1. Onboarding across hosts: every organisation asks the authority for its membership"
  local authority name
  authority=$(did authority)
  [ "$authority" = "$(cast | awk '$1 == "authority" {print $3}')" ] \
    || die "the authority's DID is $authority, not the cast's"
  sy trust-list issue --data-dir "$(d authority)" --data-space hds \
    --entry "$authority=DataSpaceMembershipCredential,AuditorCredential,DataPermitCredential" \
    --entry "$(did trial-sponsor)=TrialSiteCredential" > "$results/trust-list.jwt"
  for name in $(cast | awk '{print $1}'); do
    sy trust-list install --data-dir "$(d "$name")" "$results/trust-list.jwt" > /dev/null
  done
  ok "the authority ($authority) signed the trust list (itself for memberships, audits and, as health data access body, permits; the trial sponsor for its sites); every connector resolved its did:web document over HTTPS, verified the list and installed it"

  local registry='{}'
  for name in $(members); do
    registry=$(jq --arg did "$(did "$name")" --arg name "$name" --arg role "$(role "$name")" \
      '. + {($did): {legalName: "\($name) B.V.", registrationNumber: "KvK-\($name)", role: $role,
                     dataSpaceId: "hds", publicSector: ($role == "StatisticsBureau")}}' <<< "$registry")
  done
  jq '{organisations: .}' <<< "$registry" > "$results/registry.json"
  sy issuer registry --data-dir "$(d authority)" --file "$results/registry.json" > /dev/null
  printf '%s\n' 'policy "members" {' \
    '  permit enroll on offer "DataSpaceMembershipCredential"' \
    '  when holder.role in ["Hospital", "Insurer", "StatisticsBureau", "TrialSponsor", "TrialSite", "Auditor"]' '}' \
    > "$results/issuance.policy"
  sy issuer config --data-dir "$(d authority)" --approval auto --policy "$results/issuance.policy" > /dev/null
  ok "the authority's registry lists the $(members | wc -l) members by DID, with an issuance policy"

  for name in $(members); do
    sy join --data-dir "$(d "$name")" --authority "$authority" --wait 30 > /dev/null \
      || die "$name was not issued its membership"
    if cast | awk -v n="$name" '$1 == n && $4 == "yes" {found = 1} END {exit !found}'; then
      # org.sh serves again on the peer network once the membership is held.
      for _ in $(seq 120); do [ -s "$SHARED/peers/$name" ] && break; sleep 0.5; done
      [ -s "$SHARED/peers/$name" ] || die "$name did not join the peer network in 60 s"
    fi
    ok "$name asked $authority over DCP (found by its DID document) and holds its membership"
  done
  local computing
  computing=$(peers_of_network | wc -l)
  for name in $(peers_of_network); do
    wait_for_peers "$name" $((computing - 1))
  done
  ok "$computing connectors on the peer network across hosts, each authenticated by every other's membership"

}

# The parties of the salary average: cast members named employee-N.
employees() { cast | awk '$1 ~ /^employee-/ {print $1}'; }

# Checks that none of NAMES holds a result of session ID.
holds_no_result() {
  local id=$1 name
  shift
  for name in "$@"; do
    [ "$(sy session show --data-dir "$(d "$name")" "$id" --json | jq -r '.has_result')" = false ] \
      || die "$name holds a result of session $id"
  done
}

salary() {
  scenario "2. Four employees' average salary across hosts, computed without anyone seeing one"
  local salaries=(2500 3250 1800 4320) agreements=() name i=0 out result mean id
  local policy
  policy=$(computation_policy salary mean 4)
  for name in $(employees); do
    mkdir -p "$(d "$name")/data"
    printf 'salary\n%s\n' "${salaries[$i]}" > "$(d "$name")/data/salary.csv"
    i=$((i + 1))
    offer_bound "$name" salary '{"file": "salary.csv", "columns": {"salary": "salary"}}' "$policy" false
    agreements+=(--agreement "$(agree statistics-bureau "$name" salary)")
  done
  [ "$i" = 4 ] || die "the cast has $i employees, not 4"
  ok "each employee offered a computation on its salary, allowed only to a statistics bureau running \`mean\` over at least 4 people; the bureau's credentials won an agreement with each across hosts"
  out=$(sy session start --data-dir "$(d statistics-bureau)" --program mean \
    --params '{"column": "salary", "min": 0, "max": 100000}' "${agreements[@]}" --k 4 \
    --purpose official-statistics --join-seconds 30 --round-timeout-ms 10000 --json) \
    || die "the salary session did not complete: $out"
  id=$(jq -rs '.[0].id' <<< "$out")
  result=$(jq -s '.[1]' <<< "$out")
  mean=$(jq -r '.mean * 100 | round / 100 | tostring' <<< "$result")
  [ "$mean" = 2967.5 ] || die "the mean is $mean, not 2967.50: $result"
  # shellcheck disable=SC2046 # one name a word
  holds_no_result "$id" $(employees)
  ok "an MPC session over the peer network across hosts: only the bureau learned the mean, $(printf '%.2f' "$mean"); no employee holds a result, and all $(jq -s '.[0].reports | length' <<< "$out") parties signed the same transcript"
}

study() {
  scenario "3. The study across hosts: insurer, hospital and statistics bureau"
  local bureau
  bureau=$(did statistics-bureau)
  mkdir -p "$(d insurer)/data" "$(d hospital)/data" "$(d statistics-bureau)/data"
  cp "$STUDY_DATA/insurer.csv" "$(d insurer)/data/costs.csv"
  cp "$STUDY_DATA/hospital.csv" "$(d hospital)/data/app.csv"
  cp "$STUDY_DATA/cbs.csv" "$(d statistics-bureau)/data/income.csv"
  offer_computation insurer study costs.csv '{"annual_cost_eur": "annual_cost_eur"}' "$STUDY_POLICY" true
  offer_computation hospital study app.csv '{"uses_app": "uses_app", "outpatient_visits": "outpatient_visits"}' "$STUDY_POLICY" true
  offer_computation statistics-bureau income income.csv '{"income_group": "income_group"}' "$INCOME_POLICY" false
  jq -n --arg bureau "$bureau" '{permitId: "HDAB-PPA-2026-0001", purpose: "scientific-research",
      datasets: ["study"], authorisedPersons: [{id: $bureau, principalInvestigator: true}],
      outputMode: "anonymised-statistics", minimumCellSize: 10}' > "$results/permit.json"
  sy credential issue --data-dir "$(d authority)" --type DataPermitCredential --subject "$bureau" \
    --claims "@$results/permit.json" --status \
    --valid-until "$(date -u -d '+1 year' +%Y-%m-%dT%H:%M:%SZ)" > "$results/permit.jwt"
  sy credential store --data-dir "$(d statistics-bureau)" "$results/permit.jwt" > /dev/null
  ok "insurer and hospital offered their tables as health data needing a permit; the authority, as health data access body, issued the bureau permit HDAB-PPA-2026-0001"

  local with_insurer with_hospital
  with_insurer=$(agree statistics-bureau insurer study scientific-research)
  with_hospital=$(agree statistics-bureau hospital study scientific-research)
  echo "$with_insurer $with_hospital" > "$results/agreements"
  ok "the bureau's negotiations with insurer and hospital across hosts: FINALIZED ($with_insurer, $with_hospital)"

  local refused reason
  if refused=$(sy negotiate --data-dir "$(d statistics-bureau)" --provider "$(dsp hospital)" \
    --offer study --purpose marketing --wait 30 --json 2> /dev/null); then
    die "a marketing request was agreed: $refused"
  fi
  reason=$(jq -r '[.reason[]? | select(contains("ehds-art-54-c"))][0] // empty' <<< "$refused")
  [ "$(jq -r .state <<< "$refused")" = TERMINATED ] && [ -n "$reason" ] \
    || die "a marketing request was not refused by Art. 54(c): $refused"
  ok "the same request for marketing was refused: $reason"
  if refused=$(sy negotiate --data-dir "$(d auditor)" --provider "$(dsp hospital)" \
    --offer study --purpose scientific-research --wait 30 --json 2> /dev/null); then
    die "the auditor was agreed the study: $refused"
  fi
  reason=$(jq -r '[.reason[]?] | join("; ")' <<< "$refused")
  [ "$(jq -r .state <<< "$refused")" = TERMINATED ] && [ -n "$reason" ] \
    || die "the auditor's request was not refused with a reason: $refused"
  ok "the auditor (did:web, presenting by DCP: the hospital queried its Credential Service over HTTPS) asked for the study: refused: $reason"

  printf 'ward,beds_free\ncardiology,4\nneurology,2\n' > "$(d hospital)/data/beds.csv"
  printf '%s\n' 'policy "bed-capacity" {' \
    '  permit use on offer "bed-capacity" when holder.member_of == "hds"' '}' > "$results/beds.policy"
  sy offer create --data-dir "$(d hospital)" --id bed-capacity --title "Free beds per ward" \
    --policy "$results/beds.policy" --serve-file beds.csv > /dev/null
  local beds transfer
  beds=$(agree auditor hospital bed-capacity care-improvement)
  transfer=$(sy transfers request --data-dir "$(d auditor)" --agreement "$beds" \
    --format HttpData-PULL --wait 10)
  [ "$(awk '{print $3}' <<< "$transfer")" = STARTED ] || die "the transfer did not start: $transfer"
  sy transfers pull --data-dir "$(d auditor)" "$(awk '{print $1}' <<< "$transfer")" \
    --out "$results/beds.csv" > /dev/null 2>&1 || die "the auditor could not pull the dataset"
  cmp -s "$results/beds.csv" "$(d hospital)/data/beds.csv" || die "the pulled dataset differs"
  sy events --data-dir "$(d hospital)" --kind presentation.verified --json \
    | jq -e --arg auditor "$(did auditor)" 'any(.[]; .actor == $auditor and .details.mode == "dcp")' \
      > /dev/null || die "the hospital recorded no presentation of the auditor's obtained by DCP"
  ok "a dataset for every member: the auditor's credentials, queried by DCP across hosts, won the agreement ($beds); the transfer started and the file was pulled over HTTPS, byte for byte"

  local out result
  out=$(start_study 30000 "" "$with_insurer" "$with_hospital") || die "the study did not complete: $out"
  jq -s '.[0]' <<< "$out" > "$results/study-session.json"
  result=$(jq -s '.[1]' <<< "$out")
  echo "$result" > "$results/study-result.json"
  jq -e --slurpfile want "$STUDY_DATA/expected.json" '
      (.cells | length) == ($want[0].cells | length) and (.cells | length) > 0 and
      ([.cells, $want[0].cells] | transpose | all(
        if .[1].suppressed then .[0].suppressed == true
        else .[0].count == .[1].count and .[0].outcomes.annual_cost_eur.sum == .[1].sum_cost_eur end))' \
    <<< "$result" > /dev/null || die "the study's cells differ from the plaintext answer: $result"
  holds_no_result "$(jq -r '.id' "$results/study-session.json")" insurer hospital
  ok "an MPC session over the peer network across hosts: $(jq '.n' "$STUDY_DATA/expected.json") patients linked on pseudonyms, every one of the $(jq '.cells | length' <<< "$result") cells equal to the plaintext answer ($(jq '[.cells[] | select(.suppressed == true)] | length' <<< "$result") suppressed); only the bureau holds the result"
}

fraud_signal() {
  scenario "4. A fraud signal across hosts: how many records match, and nothing else"
  local policy agreements=() out result matches id
  policy=$(computation_policy pseudonyms psi-cardinality 2)
  { echo pseudonym; seq -f 'm%g' 0 1999; } > "$(d insurer)/data/members.csv"
  { echo pseudonym; seq -f 'm%g' 1500 2999; } > "$(d hospital)/data/patients.csv"
  offer_computation insurer pseudonyms members.csv '{}' "$policy" false
  offer_computation hospital pseudonyms patients.csv '{}' "$policy" false
  agreements=(--agreement "$(agree statistics-bureau insurer pseudonyms)"
    --agreement "$(agree statistics-bureau hospital pseudonyms)")
  ok "insurer and hospital offered their pseudonyms for a match count only; the bureau agreed with each across hosts"
  out=$(sy session start --data-dir "$(d statistics-bureau)" --program psi-cardinality \
    "${agreements[@]}" --k 2 --purpose fraud-detection --join-seconds 30 \
    --round-timeout-ms 30000 --json) || die "the fraud-signal session did not complete: $out"
  id=$(jq -rs '.[0].id' <<< "$out")
  result=$(jq -s '.[1]' <<< "$out")
  matches=$(jq -r '.intersection' <<< "$result")
  [ "$matches" = 500 ] || die "$matches matches, not 500: $result"
  holds_no_result "$id" insurer hospital
  ok "private set intersection of the insurer's 2,000 members and the hospital's 1,500 patients across hosts: the bureau learned that $matches match, not which; insurer and hospital hold no result"
}

# The cast's trial sites.
sites() { cast | awk '$2 == "TrialSite" {print $1}'; }

trial() {
  scenario "5. The trial sponsor onboards its sites across hosts, and revokes one"
  local sponsor registry='{}' name agreement revoked credential refused reason
  sponsor=$(did trial-sponsor)
  for name in $(sites); do
    registry=$(jq --arg did "$(did "$name")" --arg name "$name" \
      '. + {($did): {legalName: "\($name) B.V.", registrationNumber: "KvK-\($name)",
                     role: "TrialSite", trialId: "CARDIO-7", siteId: $name}}' <<< "$registry")
  done
  jq '{organisations: .}' <<< "$registry" > "$results/sites.json"
  sy issuer registry --data-dir "$(d trial-sponsor)" --file "$results/sites.json" > /dev/null
  printf '%s\n' 'policy "sites" {' \
    '  permit enroll on offer "TrialSiteCredential" when holder.role == "TrialSite"' '}' \
    > "$results/sites.policy"
  sy issuer config --data-dir "$(d trial-sponsor)" --approval auto --policy "$results/sites.policy" > /dev/null
  for name in $(sites); do
    sy join --data-dir "$(d "$name")" --authority "$sponsor" --credential TrialSiteCredential \
      --wait 30 > /dev/null || die "$name was not issued its TrialSiteCredential"
  done
  ok "the sponsor ($sponsor) registered $(sites | wc -l) sites of trial CARDIO-7; each site found its Issuer Service in its DID document over HTTPS and was issued a TrialSiteCredential over DCP"

  printf '%s\n' 'policy "trial" {' \
    '  permit use on offer "protocol-v3" when holder.trial_id == "CARDIO-7"' '}' \
    > "$results/trial.policy"
  sy offer create --data-dir "$(d trial-sponsor)" --id protocol-v3 \
    --title "CARDIO-7 protocol, version 3" --policy "$results/trial.policy" > /dev/null
  for name in $(sites); do
    agreement=$(agree "$name" trial-sponsor protocol-v3)
  done
  ok "every site won the trial protocol's agreement across hosts by presenting its site credential (the last: $agreement)"

  revoked=$(sites | tail -n 1)
  credential=$(sy credential list --data-dir "$(d "$revoked")" --json \
    | jq -er '[.[] | select(any(.types[]?; . == "TrialSiteCredential"))][0].id') \
    || die "$revoked holds no TrialSiteCredential"
  sy credential revoke --data-dir "$(d trial-sponsor)" "$credential" > /dev/null \
    || die "the sponsor could not revoke $credential"
  if refused=$(sy negotiate --data-dir "$(d "$revoked")" --provider "$(dsp trial-sponsor)" \
    --offer protocol-v3 --wait 30 --json 2> /dev/null); then
    die "the revoked $revoked was agreed the protocol: $refused"
  fi
  reason=$(jq -r '[.reason[]? | select(contains("revoked"))][0] // empty' <<< "$refused")
  [ "$(jq -r .state <<< "$refused")" = TERMINATED ] && [ -n "$reason" ] \
    || die "the revoked $revoked was not refused for the revocation: $refused"
  ok "the sponsor revoked $revoked's credential; its next request across hosts was refused: $reason"
}

audit() {
  scenario "6. The auditor fetches every trail across hosts and verifies it offline"
  local auditor scope
  auditor=$(did auditor)
  scope=$(for name in $(cast | awk '{print $1}'); do did "$name"; done | jq -R . | jq -s '{scope: .}')
  sy credential issue --data-dir "$(d authority)" --type AuditorCredential --subject "$auditor" \
    --claims "$scope" > "$results/auditor.jwt"
  sy credential store --data-dir "$(d auditor)" "$results/auditor.jwt" > /dev/null
  ok "the authority issued the auditor ($auditor) an AuditorCredential for every organisation"
  for name in $(cast | awk '$1 != "auditor" {print $1}'); do
    sy audit fetch --data-dir "$(d auditor)" --from "$(url "$name")" --did "$(did "$name")" \
      --out "$results/trail-$name.json" > /dev/null || die "the auditor could not fetch and verify $name's trail"
  done
  sy audit verify "$results/trail-hospital.json" "$results/trail-statistics-bureau.json" > /dev/null \
    || die "the hospital's and the bureau's trails do not verify against each other"
  ok "the auditor presented its credential to $(($(cast | wc -l) - 1)) connectors across hosts, fetched their trails and verified each offline; hospital and bureau cross-checked"
}

run_all() {
  onboarding
  salary
  study
  fraud_signal
  trial
  audit
}

# Starts a study session for the cut-off scenario and returns once it runs.
cut_start() {
  local host=$1 agreements session id state
  read -r -a agreements < "$results/agreements" || die "no agreements: run the scenarios first"
  scenario "7. A host cut off mid-session: $host" >&2
  # A study CUT_SCALE times larger (the same tables, each pseudonym once per copy with its first
  # hex digit replaced by the copy's number, so that the copies link as the originals do), for
  # a session that runs long enough to be cut.
  local scale=${CUT_SCALE:-8} file
  [ "$scale" -ge 1 ] && [ "$scale" -le 16 ] || die "CUT_SCALE must be 1 to 16"
  for file in insurer.csv:insurer/data/costs.csv hospital.csv:hospital/data/app.csv \
    cbs.csv:statistics-bureau/data/income.csv; do
    awk -F, -v OFS=, -v scale="$scale" 'NR == 1 {print; next}
      {for (k = 0; k < scale; k++) {row = $0; sub(/^[^,]*/, sprintf("%x", k) substr($1, 2), row); print row}}' \
      "$STUDY_DATA/${file%%:*}" > "$SPACE/${file#*:}"
  done
  session=$(start_study 5000 --no-wait "${agreements[@]}") || die "the session did not start: $session"
  id=$(jq -r '.id' <<< "$session")
  for _ in $(seq 600); do
    state=$(sy session show --data-dir "$(d statistics-bureau)" "$id" --json | jq -r .state)
    [ "$state" = running ] && break
    [ "$state" = joining ] || die "session $id is $state before it ran"
    sleep 0.05
  done
  [ "$state" = running ] || die "session $id did not run in 30 s"
  ok "session $id runs on bureau, insurer and hospital" >&2
  echo "$id"
}

# Checks that study session ID ended, failed with a reason and no result, on every party but HOST,
# after CUT (the cut's time, seconds since the epoch).
cut_check() {
  local id=$1 host=$2 cut=$3 name view state ended
  scenario "   ... and the session ends on the others"
  for name in statistics-bureau insurer hospital; do
    [ "$name" = "$host" ] && continue
    for _ in $(seq 120); do
      view=$(sy session show --data-dir "$(d "$name")" "$id" --json)
      state=$(jq -r .state <<< "$view")
      case $state in completed | failed | cancelled) break ;; esac
      sleep 0.5
    done
    [ "$state" = failed ] || die "session $id is $state on $name, 60 s after $host was cut off"
    jq -e '(.reason // "") != "" and .has_result != true' <<< "$view" > /dev/null \
      || die "session $id ended on $name without a reason, or with a result: $view"
    ended=$(ended_after "$view" "$cut")
    awk -v e="$ended" 'BEGIN {exit !(e >= -1)}' \
      || die "session $id ended on $name ${ended#-} s before $host was cut off: $view"
    ok "$name: session failed $ended s after the cut: $(jq -r '"\(.code // "")  \(.reason)"' <<< "$view")"
  done
}

# Seconds from CUT (since the epoch) to the last change of the session VIEW (JSON).
ended_after() {
  local updated
  updated=$(jq -r '.updated | sub("\\.[0-9]+"; "") | sub("\\+00:00$"; "Z") | fromdateiso8601' <<< "$1")
  awk -v u="$updated" -v c="$2" 'BEGIN {printf "%.1f", u - c}'
}

case ${1:-all} in
  all) run_all ;;
  cut-start) cut_start "${2:?cut-start needs the host to cut off}" ;;
  cut-check) cut_check "${2:?cut-check needs the session id}" "${3:?cut-check needs the host}" \
    "${4:?cut-check needs the time of the cut, in seconds since the epoch}" ;;
  *) die "unknown command \`$1\` (all, cut-start HOST, cut-check ID HOST)" ;;
esac
