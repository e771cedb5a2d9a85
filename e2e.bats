#!/usr/bin/env bats
# The end-to-end scenarios of e2e-tests/ with a real kwctl (`make e2e-kwctl`). Needs kwctl, bats
# and jq; CI runs the same scenarios on the wasmtime host (`make e2e`), since kwctl is in no
# package registry.
#
# Requests are e2e-tests/fixtures/requests/*.json (what the API server sends), recorded cluster
# answers e2e-tests/fixtures/sessions/*.yml (kwctl's replay format). POLICY defaults to
# annotated-policy.wasm, made from policy.wasm and policy-metadata.yml when missing: kwctl reads
# contextAwareResources from the annotation.

bats_require_minimum_version 1.5.0

setup_file() {
  cd "$BATS_TEST_DIRNAME"
  export POLICY="${POLICY:-annotated-policy.wasm}"
  if [ ! -f "$POLICY" ]; then
    [ -f policy.wasm ] || bash scripts/build-policy.sh
    kwctl annotate -m policy-metadata.yml -u README.md -o "$POLICY" policy.wasm
  fi
}

setup() {
  cd "$BATS_TEST_DIRNAME"
  REQUESTS=e2e-tests/fixtures/requests
  SESSIONS=e2e-tests/fixtures/sessions
}

# only SAG001[,SAG002...] [extra settings JSON]: every other rule off.
only() {
  jq -cn --arg on "$1" --argjson extra "${2:-{\}}" '
    ($on | split(",")) as $enabled
    | [range(1; 17) | "SAG" + (tostring | ("000" + .)[-3:])]
    | map(select(. as $id | $enabled | index($id) | not) | {(.): "off"}) | add
    | . as $off | $extra + {rules: ($off + ($extra.rules // {}))}'
}

# kwctl_run REQUEST SETTINGS [kwctl flags...]: the AdmissionResponse in $output.
kwctl_run() {
  local request="$1" settings="$2"
  shift 2
  run --separate-stderr kwctl run --request-path "$REQUESTS/$request.json" --settings-json "$settings" "$@" "$POLICY"
  [ "$status" -eq 0 ] || { echo "kwctl failed: $stderr" >&2; return 1; }
}

# replay REQUEST SETTINGS SESSION
replay() {
  kwctl_run "$1" "$2" --allow-context-aware --replay-host-capabilities-interactions "$SESSIONS/$3.yml"
}

# expect JQ-EXPRESSION: true for the response in $output.
expect() {
  echo "$output" | jq -e "$1" >/dev/null || { echo "not true: $1" >&2; echo "$output" | jq . >&2; return 1; }
}

# The decoded JSON patch of the response in $output.
patch() {
  echo "$output" | jq -r '.patch' | base64 -d
}

denied_for() { # denied_for SUBJECT RULE PATH
  expect ".allowed == false and .status.code == 403
    and (.status.message | startswith(\"sa-guard denied $1 (1 finding):\n[$2] $1 $3: \"))
    and (.auditAnnotations[\"sa-guard.$2\"] | startswith(\"deny $3: \"))"
}

warned_for() { # warned_for SUBJECT RULE PATH
  expect ".allowed == true and .status == null
    and (.warnings | length == 1) and (.warnings[0] | startswith(\"[$2] $1 $3: \"))
    and (.auditAnnotations[\"sa-guard.$2\"] | startswith(\"warn $3: \"))"
}

accepted_plain() {
  expect '.allowed == true and .status == null and .patch == null and .warnings == null and .auditAnnotations == null'
}

@test "SAG001: a default ServiceAccount that mounts tokens is denied" {
  kwctl_run serviceaccount-default.create "$(only SAG001)"
  denied_for "ServiceAccount production/default" SAG001 /automountServiceAccountToken
  expect '.status.message | endswith("What to do: Set automountServiceAccountToken: false on the default ServiceAccount (kubectl patch serviceaccount default -n <ns> -p '"'"'{\"automountServiceAccountToken\": false}'"'"').")'
  kwctl_run serviceaccount-default-hardened.create "$(only SAG001)"
  accepted_plain
}

@test "SAG002: an implicit token is denied in every pod-bearing kind" {
  for case in "deployment-api:Deployment shop/api:/spec/template/spec" \
              "replicaset-api:ReplicaSet shop/api-7c9d6b5f4:/spec/template/spec" \
              "statefulset-api:StatefulSet shop/api:/spec/template/spec" \
              "daemonset-api:DaemonSet shop/api:/spec/template/spec" \
              "job-api:Job shop/api-migrate:/spec/template/spec" \
              "cronjob-api:CronJob shop/api-report:/spec/jobTemplate/spec/template/spec" \
              "replicationcontroller-api:ReplicationController shop/api:/spec/template/spec" \
              "podtemplate-api:PodTemplate shop/api:/template/spec"; do
    IFS=: read -r fixture subject spec <<<"$case"
    for operation in create update; do
      kwctl_run "$fixture.$operation" "$(only SAG002)"
      denied_for "$subject" SAG002 "$spec/automountServiceAccountToken"
    done
  done
}

@test "SAG002 and SAG003: a Pod on the default ServiceAccount with the injected token" {
  kwctl_run pod-default-sa.create '{}'
  expect '.allowed == false and .status.code == 403
    and (.status.message | startswith("sa-guard denied Pod shop/web (2 findings):\n[SAG002] Pod shop/web /spec/automountServiceAccountToken: "))
    and (.status.message | contains("\n[SAG003] Pod shop/web /spec/serviceAccountName: serviceAccountName is default"))'
  kwctl_run pod-no-token.create '{}'
  accepted_plain
}

@test "SAG004: the deprecated serviceAccount field warns (hand-written request)" {
  kwctl_run handwritten-deployment-deprecated-field '{}'
  warned_for "Deployment shop/api" SAG004 /spec/template/spec/serviceAccount
}

@test "SAG005 and SAG006: a projected token for the API server, valid a day" {
  kwctl_run pod-projected-api-token.create "$(only SAG005)"
  denied_for "Pod shop/reporter" SAG005 /spec/volumes/0/projected/sources/0/serviceAccountToken/audience
  kwctl_run pod-projected-api-token.create "$(only SAG006)"
  warned_for "Pod shop/reporter" SAG006 /spec/volumes/0/projected/sources/0/serviceAccountToken/expirationSeconds
}

@test "SAG004 to SAG006: the injected kube-api-access volume is not a finding" {
  kwctl_run pod-default-sa.create "$(only SAG004,SAG005,SAG006 '{"max_token_expiration_seconds": 600, "rules": {"SAG006": "deny"}}')"
  accepted_plain
}

@test "SAG007: legacy token Secrets and secrets lists are denied" {
  kwctl_run secret-legacy-token.create "$(only SAG007)"
  denied_for "Secret production/order-api-sa-token" SAG007 /type
  kwctl_run serviceaccount-legacy-secrets.update "$(only SAG007)"
  denied_for "ServiceAccount ci/build-bot" SAG007 /secrets
}

@test "SAG008: the default ServiceAccount bound to a role is denied" {
  kwctl_run rolebinding-default-edit.create "$(only SAG008)"
  denied_for "RoleBinding production/default-edit" SAG008 /subjects/0
}

@test "SAG009: a ServiceAccount bound to cluster-admin is denied" {
  kwctl_run clusterrolebinding-cluster-admin.create "$(only SAG009)"
  denied_for "ClusterRoleBinding deploy-bot-cluster-admin" SAG009 /subjects/0
  kwctl_run rolebinding-order-api.create '{}'
  accepted_plain
}

@test "SAG010: a binding to every ServiceAccount is denied" {
  kwctl_run rolebinding-all-serviceaccounts.create "$(only SAG010)"
  denied_for "RoleBinding production/every-sa-reads-configmaps" SAG010 /subjects/0
}

@test "SAG013: static cloud keys in the environment are denied" {
  kwctl_run pod-aws-keys.create "$(only SAG013)"
  expect '.allowed == false and .status.code == 403
    and (.status.message | startswith("sa-guard denied Pod analytics/report-exporter (2 findings):\n[SAG013] Pod analytics/report-exporter /spec/containers/0/env/0: container report-exporter sets AWS_ACCESS_KEY_ID inline"))
    and (.status.message | contains("\n[SAG013] Pod analytics/report-exporter /spec/containers/0/env/1: container report-exporter sets AWS_SECRET_ACCESS_KEY inline"))'
}

@test "SAG013: cloud credentials in a ConfigMap are denied" {
  kwctl_run configmap-cloud-credentials.create "$(only SAG013)"
  expect '.allowed == false and .status.code == 403
    and (.status.message | startswith("sa-guard denied ConfigMap analytics/legacy-cloud-settings (2 findings):\n[SAG013] ConfigMap analytics/legacy-cloud-settings /data/aws_secret_access_key: ConfigMap key aws_secret_access_key holds a static AWS credential"))
    and (.status.message | contains("\n[SAG013] ConfigMap analytics/legacy-cloud-settings /data/gcp-key.json: ConfigMap key gcp-key.json holds a GCP service-account key"))'
}

@test "SAG014: a kubeconfig that skips TLS verification is denied" {
  kwctl_run configmap-insecure-kubeconfig.create "$(only SAG014)"
  denied_for "ConfigMap production/legacy-client-kubeconfig" SAG014 /data/kubeconfig
  kwctl_run secret-insecure-kubeconfig.update "$(only SAG014)"
  denied_for "Secret production/legacy-client-kubeconfig" SAG014 /stringData/config
  kwctl_run configmap-app-settings.create "$(only SAG014)"
  accepted_plain
}

@test "warn level: accepted with warnings" {
  kwctl_run serviceaccount-default.create "$(only SAG001 '{"rules": {"default-sa-automount": "warn"}}')"
  warned_for "ServiceAccount production/default" SAG001 /automountServiceAccountToken
}

@test "exemptions: namespace, allow-listed ServiceAccount, annotation with a reason" {
  kwctl_run serviceaccount-default.create '{"exempt_namespaces": ["production"]}'
  expect '.allowed == true and .auditAnnotations == {"sa-guard.exempted": "SAG001 /automountServiceAccountToken: namespace production is exempt by settings"}'
  kwctl_run deployment-api.create '{"allowed_token_service_accounts": ["shop/api"]}'
  accepted_plain
  kwctl_run serviceaccount-default-exempt.create '{}'
  expect '.allowed == true and .auditAnnotations == {"sa-guard.exempted": "SAG001 /automountServiceAccountToken: sa-guard.io/exempt: legacy batch jobs read the token; tracked in OPS-42"}'
}

@test "mutation: the default ServiceAccount is fixed" {
  kwctl_run serviceaccount-default.create '{"mutate": true}'
  expect '.allowed == true and .patchType == "JSONPatch" and .auditAnnotations["sa-guard.fixed"] == "SAG001 /automountServiceAccountToken: set automountServiceAccountToken: false"'
  [ "$(patch)" = '[{"op":"add","path":"/automountServiceAccountToken","value":false}]' ]
}

@test "mutation: a new Pod gets automount off and loses the injected volume and mounts" {
  kwctl_run pod-default-sa.create '{"mutate": true}'
  expect '.allowed == true and .patchType == "JSONPatch"'
  [ "$(patch)" = '[{"op":"add","path":"/spec/automountServiceAccountToken","value":false},{"op":"remove","path":"/spec/containers/0/volumeMounts/0"},{"op":"remove","path":"/spec/initContainers/0/volumeMounts/0"},{"op":"remove","path":"/spec/volumes/0"}]' ]
}

@test "mutation: workload templates are fixed, running Pods and deletions are not patched" {
  kwctl_run deployment-api.update '{"mutate": true}'
  [ "$(patch)" = '[{"op":"add","path":"/spec/template/spec/automountServiceAccountToken","value":false}]' ]
  kwctl_run pod-default-sa.update '{"mutate": true}'
  expect '.allowed == false and .patch == null'
  kwctl_run serviceaccount-default.delete '{"mutate": true}'
  accepted_plain
}

@test "context-aware: the ServiceAccount read from the cluster decides" {
  replay deployment-api.create '{"context_aware": true}' sa-api-automount-false
  accepted_plain
  replay deployment-api.create '{"context_aware": true}' sa-api-automount-true
  accepted_plain
  replay deployment-api.create '{"context_aware": true, "require_allowlisted_opt_in": true}' sa-api-automount-true
  denied_for "Deployment shop/api" SAG002 /spec/template/spec/automountServiceAccountToken
  replay deployment-api.create '{"context_aware": true}' sa-api-automount-unset
  expect '.status.message | contains("neither the Pod spec nor ServiceAccount shop/api sets automountServiceAccountToken")'
  replay deployment-api.create '{"context_aware": true}' sa-api-not-found
  expect '.status.message | contains("ServiceAccount shop/api does not exist in the cluster")'
}

@test "context-aware: a failed look-up follows on_lookup_failure" {
  replay deployment-api.create '{"context_aware": true}' sa-api-lookup-error
  denied_for "Deployment shop/api" SAG002 /spec/template/spec/automountServiceAccountToken
  expect '.status.message | contains("looking up ServiceAccount shop/api failed")'
  replay deployment-api.create '{"context_aware": true, "on_lookup_failure": "warn"}' sa-api-lookup-error
  warned_for "Deployment shop/api" SAG002 /spec/template/spec/automountServiceAccountToken
  replay deployment-api.create '{"context_aware": true, "on_lookup_failure": "allow"}' sa-api-lookup-error
  accepted_plain
}

@test "context-aware: the Role a binding grants is read from the cluster" {
  replay rolebinding-pod-exec.create '{"context_aware": true}' role-pod-debugger
  denied_for "RoleBinding shop/debugger" SAG009 /subjects/0
  expect '.status.message | contains("rules[1] grants create on pods/exec")'
}

@test "context-aware: with lookup_secrets, the Secret a Pod reads is read from the cluster" {
  # Without lookup_secrets no Secret is read (policy-server needs no access to Secrets), so no
  # host capability is used and none is offered here.
  kwctl_run pod-reads-token-secret.create '{"context_aware": true}'
  accepted_plain
  replay pod-reads-token-secret.create '{"context_aware": true, "lookup_secrets": true}' secret-order-api-sa-token
  denied_for "Pod production/order-report" SAG007 /spec/containers/0/env/0/valueFrom/secretKeyRef/name
  expect '.status.message | contains("Secret order-api-sa-token, a legacy token of ServiceAccount order-api-sa that never expires")'
}

@test "context-aware: SAG015 asks the cluster's authorizer about the workload's ServiceAccount" {
  local reviews='{"context_aware": true, "review_service_account_permissions": true}'
  # A RoleBinding lets shop/api exec into Pods, and its Pods get a token: denied, naming the binding.
  replay deployment-api.create "$(only SAG015 "$reviews")" sar-api-exec
  denied_for "Deployment shop/api" SAG015 /spec/template/spec/automountServiceAccountToken
  expect '.status.message | contains("holds exec (high): the cluster'"'"'s authorizer allows create pods/exec in namespace shop (RBAC: allowed by RoleBinding \"debug/shop\" of Role \"pod-debugger\" to ServiceAccount \"api/shop\")")'
  # The ServiceAccount turns automount off: its Pods cannot use the permission, a warning only.
  replay deployment-api.create "$(only SAG015 "$reviews")" sar-api-exec-no-token
  warned_for "Deployment shop/api" SAG015 /spec/template/spec/serviceAccountName
}

@test "context-aware: SubjectAccessReviews that fail follow on_lookup_failure" {
  replay deployment-api.create "$(only SAG015 '{"context_aware": true, "review_service_account_permissions": true}')" sar-api-forbidden
  denied_for "Deployment shop/api" SAG015 /spec/template/spec/automountServiceAccountToken
  expect '.status.message | contains("the SubjectAccessReviews failed for impersonate (impersonate users cluster-wide: ")'
  expect '.status.message | contains("subjectaccessreviews.authorization.k8s.io is forbidden")'
  replay deployment-api.create "$(only SAG015 '{"context_aware": true, "review_service_account_permissions": true, "on_lookup_failure": "warn"}')" sar-api-forbidden
  warned_for "Deployment shop/api" SAG015 /spec/template/spec/automountServiceAccountToken
  replay deployment-api.create "$(only SAG015 '{"context_aware": true, "review_service_account_permissions": true, "on_lookup_failure": "allow"}')" sar-api-forbidden
  accepted_plain
}

@test "invalid settings are refused, naming the field" {
  run kwctl run --request-path "$REQUESTS/pod-no-token.create.json" --settings-json '{"max_token_expiration_seconds": 60}' "$POLICY"
  [ "$status" -ne 0 ]
  [[ "$output" == *"max_token_expiration_seconds: 60 is below the Kubernetes minimum of 600"* ]]
  run kwctl run --request-path "$REQUESTS/pod-no-token.create.json" --settings-json '{"exempt_namespace": ["kube-system"]}' "$POLICY"
  [ "$status" -ne 0 ]
  [[ "$output" == *"unknown field \`exempt_namespace\`"* ]]
}

@test "every fixture gets an answer, never an internal error" {
  for request in "$REQUESTS"/*.json; do
    run --separate-stderr kwctl run --request-path "$request" "$POLICY"
    [ "$status" -eq 0 ] || { echo "$request: $stderr" >&2; return 1; }
    expect '(.status.code // 0) != 500'
  done
}
