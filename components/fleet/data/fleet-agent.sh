#!/usr/bin/env bash
# The Pegasus fleet agent (design document 004, "Agent"). cron runs it on every VM:
#  1. HEAD the control-center hosts in order; the first that answers gives the cc-a-* headers.
#  2. Empty or missing values fall back to the defaults rendered below from pegasus:fleet.
#  3. Wait a random delay, run pre-run, ansible-pull or bash of the repository, post-run.
#  4. With capacityOwner agent, set this VM's own group's desired capacity.
# Rendered by components/fleet_agent_builder.py; the settings block below is generated.
set -u

# @SETTINGS@

AGENT_DIR="${PEGASUS_AGENT_DIR:-$AGENT_DIR}"
STATE_DIR="${PEGASUS_AGENT_STATE:-$STATE_DIR}"
mkdir -p "$STATE_DIR"

log() { echo "pegasus-agent: $*"; }

# One run at a time: a slow pull must not overlap the next cron tick.
exec 9>"$STATE_DIR/lock"
if ! flock -n 9; then
  log "another run holds $STATE_DIR/lock; skipping"
  exit 0
fi

HEADERS=""
CC_SOURCE="defaults"
for host in "${CC_HOSTS[@]}"; do
  case "$host" in
    http://*|https://*) url="$host" ;;
    *) url="https://$host/" ;;
  esac
  # A host answers with an HTTP status below 500; an error page carries no variables.
  if out=$(curl -sS -I --max-time "$CC_TIMEOUT" -o /dev/null -D - "$url" 2>/dev/null); then
    status=$(printf '%s\n' "$out" | head -n1 | awk '{print $2}')
    if [ -n "$status" ] && [ "$status" -lt 500 ]; then
      HEADERS=$(printf '%s\n' "$out" | tr -d '\r')
      CC_SOURCE="$url"
      break
    fi
  fi
  log "control center $url did not answer"
done
log "variables from $CC_SOURCE"

# var NAME DEFAULT: the cc-a-NAME header of the answering host, or DEFAULT when it is empty or
# `-` (document 004's "unset").
var() {
  local value
  value=$(printf '%s\n' "$HEADERS" | awk -v want="cc-a-$1" '
    { i = index($0, ":"); if (i == 0) next
      name = tolower(substr($0, 1, i - 1))
      if (name == want) { v = substr($0, i + 1); sub(/^[ \t]+/, "", v); sub(/[ \t]+$/, "", v); print v; exit } }')
  if [ -n "$value" ] && [ "$value" != "-" ]; then printf '%s' "$value"; else printf '%s' "$2"; fi
}

REPOSITORY=$(var repository "$DEFAULT_REPOSITORY")
TYPE=$(var type "$DEFAULT_TYPE")
MAIN_RUN=$(var main-run "$DEFAULT_MAIN_RUN")
PRE_RUN=$(var pre-run "$DEFAULT_PRE_RUN")
POST_RUN=$(var post-run "$DEFAULT_POST_RUN")
DELAY=$(var delay "$DEFAULT_DELAY")
FORCE_RUN=$(var force-run "$DEFAULT_FORCE_RUN")
DESIRED_CAPACITY=$(var desired-capacity "$DEFAULT_DESIRED_CAPACITY")
START=$(var start "$DEFAULT_START")
STOP=$(var stop "$DEFAULT_STOP")

case "$DELAY" in ''|*[!0-9]*) log "cc-a-delay $DELAY is not a number; using $DEFAULT_DELAY"; DELAY=$DEFAULT_DELAY ;; esac
if [ "$DELAY" -gt 0 ]; then
  sleep $((RANDOM % (DELAY + 1)))
fi

if [ -n "$PRE_RUN" ]; then
  bash -c "$PRE_RUN" || log "pre-run failed with $?"
fi

# One checkout per repository URL: when cc-a-repository names another repository, the agent
# clones that one instead of pulling the old checkout's origin.
WORK="$STATE_DIR/repository-$(printf '%s' "$REPOSITORY" | sha256sum | cut -c1-16)"
rc=0
case "$TYPE" in
  ansible)
    only_if_changed="--only-if-changed"
    [ "$FORCE_RUN" = "true" ] && only_if_changed=""
    # shellcheck disable=SC2086  # an empty flag must vanish
    ansible-pull --url "$REPOSITORY" --directory "$WORK" --inventory localhost, $only_if_changed "$MAIN_RUN" || rc=$?
    ;;
  bash|shell)  # shell: p2p-agent-infra's name for it
    changed=1
    if [ -d "$WORK/.git" ]; then
      before=$(git -C "$WORK" rev-parse HEAD)
      git -C "$WORK" fetch --quiet origin && git -C "$WORK" reset --quiet --hard FETCH_HEAD || rc=$?
      [ "$(git -C "$WORK" rev-parse HEAD)" = "$before" ] && changed=0
    else
      rm -rf "$WORK"
      git clone --quiet "$REPOSITORY" "$WORK" || rc=$?
    fi
    if [ "$rc" -eq 0 ] && { [ "$changed" -eq 1 ] || [ "$FORCE_RUN" = "true" ]; }; then
      (cd "$WORK" && bash "$MAIN_RUN") || rc=$?
    elif [ "$rc" -eq 0 ]; then
      log "repository unchanged; not running $MAIN_RUN (cc-a-force-run true runs it anyway)"
    fi
    ;;
  *)
    log "unknown executor type $TYPE; use ansible, bash or shell"
    rc=2
    ;;
esac
[ "$rc" -ne 0 ] && log "$TYPE run failed with $rc"

if [ -n "$POST_RUN" ]; then
  bash -c "$POST_RUN" || log "post-run failed with $?"
fi

# Near the stop, or after it, the stop's own primitive owns the group: writing then would
# start the fleet again from a VM that is shutting down.
near_stop=""
if [ -n "$STOP" ]; then
  if stop_s=$(date -u -d "$STOP" +%s 2>/dev/null); then
    [ $((stop_s - $(date -u +%s))) -lt "$STOP_MARGIN" ] && near_stop=1
  else
    log "cc-a-stop $STOP is not a time; ignoring it"
  fi
fi

# Before the start (cc-a-start, or the config's start with its offset), the start's own
# primitive has not raised the group yet: a write then would start the fleet early. Symmetric
# with the stop: the agent writes capacity only between the two.
before_start=""
if [ -n "$START" ]; then
  if start_s=$(date -u -d "$START" +%s 2>/dev/null); then
    [ "$(date -u +%s)" -lt "$start_s" ] && before_start=1
  else
    log "cc-a-start $START is not a time; ignoring it"
  fi
fi

if [ "$CAPACITY_OWNER" = "agent" ] && [ "${#CC_HOSTS[@]}" -gt 0 ] && [ "$CC_SOURCE" = "defaults" ]; then
  # The control center is down: its last answer may differ from the config, and a fallback to
  # the config's capacity would reset a running fleet. Only a static config writes from defaults.
  log "no control center answered; leaving the group as it is"
elif [ "$CAPACITY_OWNER" = "agent" ] && [ -n "$before_start" ]; then
  log "the start $START has not come; leaving the group as it is"
elif [ "$CAPACITY_OWNER" = "agent" ] && [ -n "$near_stop" ]; then
  log "the stop $STOP is less than ${STOP_MARGIN}s away or past; leaving the group to it"
elif [ "$CAPACITY_OWNER" = "agent" ]; then
  # The same resolution the program and the watcher use (pegasus/fleet/capacity.py).
  n=$(python3 "$AGENT_DIR/capacity.py" "$DESIRED_CAPACITY" "$CLOUD" "$REGION")
  # Within the group's bounds, as the watcher keeps it.
  if [ -n "$n" ]; then
    [ "$n" -lt "$MIN_SIZE" ] && n=$MIN_SIZE
    [ "$n" -gt "$MAX_SIZE" ] && n=$MAX_SIZE
  fi
  if [ -z "$n" ]; then
    log "desired capacity $DESIRED_CAPACITY has no value for $CLOUD/$REGION; leaving the group as it is"
  else
    log "setting the desired capacity of $GROUP to $n"
    case "$CLOUD" in
      aws) aws autoscaling set-desired-capacity --region "$REGION" --auto-scaling-group-name "$GROUP" --desired-capacity "$n" ;;
      gcp)
        # A scaling schedule holds the group at max(minimum, the active schedule's minimum):
        # inside the stack's start window, its minimum is the setting that moves the group.
        if [ -n "$GCP_SCHEDULE" ]; then
          gcloud compute instance-groups managed update-autoscaling "$GROUP" --project "$GCP_PROJECT" --region "$REGION" \
            --update-schedule "$GCP_SCHEDULE" --schedule-min-required-replicas "$n" --quiet
        else
          gcloud compute instance-groups managed update-autoscaling "$GROUP" --project "$GCP_PROJECT" --region "$REGION" \
            --min-num-replicas "$n" --quiet
        fi ;;
      azure)
        # The profile in force (the fixed-date start window wins over the default inside it),
        # pinned at n: minimum, maximum and default.
        p="profiles[name=\"$AZURE_PROFILE\"].capacity"
        az login --identity --output none \
          && az monitor autoscale update --resource-group "$AZURE_RESOURCE_GROUP" --name "$AZURE_AUTOSCALE" \
               --set "$p.minimum=\"$n\"" --set "$p.maximum=\"$n\"" --set "$p.default=\"$n\"" --output none ;;
      alibaba)
        # The start task raised the group's minimum: the minimum moves with the capacity, or a
        # lower desired capacity is refused (ModifyScalingGroupRequest has no RegionId: the
        # CLI's --region picks the endpoint).
        id=$(aliyun --mode EcsRamRole --ram-role-name "$ALIBABA_ROLE" --region "$REGION" ess DescribeScalingGroups \
               --RegionId "$REGION" --ScalingGroupName "$GROUP" | python3 -c 'import json,sys; print(json.load(sys.stdin)["ScalingGroups"]["ScalingGroup"][0]["ScalingGroupId"])') \
          && aliyun --mode EcsRamRole --ram-role-name "$ALIBABA_ROLE" --region "$REGION" ess ModifyScalingGroup \
               --ScalingGroupId "$id" --MinSize "$n" --DesiredCapacity "$n" ;;
    esac || log "setting the desired capacity failed with $?"
  fi
fi
exit "$rc"
