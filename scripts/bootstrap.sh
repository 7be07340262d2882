#!/usr/bin/env bash
# One-time AWS bootstrap (control plane, run by a human with admin rights once per
# account): deploys deploy/bootstrap/bootstrap.yaml with CloudFormation, then prints
# the `gh variable set` commands that wire the stack outputs into the repository
# and its two environments. --dry-run prints what it would run and touches nothing.
set -euo pipefail

readonly TEMPLATE="deploy/bootstrap/bootstrap.yaml"

usage() {
  cat <<'EOF'
Usage: scripts/bootstrap.sh --github-owner OWNER --github-repo REPO [options]

Deploys the bootstrap CloudFormation stack (GitHub OIDC provider, deploy roles for
the "staging" and "production" environments, training, batch, monitor and plan roles, SageMaker
execution role, artifacts bucket, model package group) and prints the GitHub
variables to set.

Required:
  --github-owner OWNER             GitHub organisation or user
  --github-repo REPO               repository name, without the owner

Options:
  --github-repository-id ID        the repository's numeric id (default: looked up with
                                   `gh api repos/OWNER/REPO --jq .id`); the roles trust only it
  --project-name NAME              resource prefix and model package group (default: mlops)
  --region REGION                  AWS region (default: $AWS_REGION, else $AWS_DEFAULT_REGION)
  --stack-name NAME                CloudFormation stack (default: <project-name>-github-bootstrap)
  --existing-oidc-provider-arn ARN reuse the account's token.actions.githubusercontent.com provider
  --budget-email ADDRESS           create a monthly AWS Budget on SageMaker spend that mails ADDRESS
                                   at 80 % spent and when the forecast passes the limit
  --budget-limit USD               that budget's monthly limit (default: 100)
  --alert-email ADDRESS            subscribe ADDRESS to the alerts topic the monitoring alarms notify
  --dry-run                        print the commands instead of running them
  -h, --help                       show this help
EOF
}

die() {
  echo "bootstrap: $*" >&2
  exit 2
}

# Prints a command, shell-quoted, so it can be copied as is.
show() {
  local quoted
  printf -v quoted '%q ' "$@"
  echo "${quoted% }"
}

parse_args() {
  owner="" repo="" repo_id="" project="mlops" stack="" oidc_arn="" dry_run=0 budget_email="" budget_limit="" alert_email=""
  region="${AWS_REGION:-${AWS_DEFAULT_REGION:-}}"
  while (($#)); do
    case "$1" in
      --github-owner) owner="${2:?--github-owner needs a value}"; shift 2 ;;
      --github-repo) repo="${2:?--github-repo needs a value}"; shift 2 ;;
      --github-repository-id) repo_id="${2:?--github-repository-id needs a value}"; shift 2 ;;
      --project-name) project="${2:?--project-name needs a value}"; shift 2 ;;
      --region) region="${2:?--region needs a value}"; shift 2 ;;
      --stack-name) stack="${2:?--stack-name needs a value}"; shift 2 ;;
      --existing-oidc-provider-arn) oidc_arn="${2:?--existing-oidc-provider-arn needs a value}"; shift 2 ;;
      --budget-email) budget_email="${2:?--budget-email needs a value}"; shift 2 ;;
      --budget-limit) budget_limit="${2:?--budget-limit needs a value}"; shift 2 ;;
      --alert-email) alert_email="${2:?--alert-email needs a value}"; shift 2 ;;
      --dry-run) dry_run=1; shift ;;
      -h | --help) usage; exit 0 ;;
      *) die "unknown argument: $1 (see --help)" ;;
    esac
  done
  [[ -n "$owner" ]] || die "--github-owner is required (see --help)"
  [[ -n "$repo" ]] || die "--github-repo is required (see --help)"
  [[ -n "$region" ]] || die "--region is required when AWS_REGION is not set"
  [[ "$project" =~ ^[a-z][a-z0-9-]{1,19}$ ]] || die "--project-name must match ^[a-z][a-z0-9-]{1,19}$ (SageMaker lower-cases ARNs)"
  [[ -z "$repo_id" || "$repo_id" =~ ^[0-9]{1,20}$ ]] || die "--github-repository-id must be the numeric id (gh api repos/$owner/$repo --jq .id)"
  [[ -z "$budget_email" || "$budget_email" =~ ^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$ ]] || die "--budget-email must be an email address"
  [[ -z "$budget_limit" || "$budget_limit" =~ ^[1-9][0-9]*$ ]] || die "--budget-limit must be a whole number of USD, at least 1"
  [[ -z "$alert_email" || "$alert_email" =~ ^[^@[:space:]]+@[^@[:space:]]+\.[^@[:space:]]+$ ]] || die "--alert-email must be an email address"
  [[ -z "$budget_limit" || -n "$budget_email" ]] || die "--budget-limit needs --budget-email (the budget mails its alerts there)"
  stack="${stack:-${project}-github-bootstrap}"
}

# The repository's numeric id: given, else asked from GitHub. A dry run that was not given
# it shows REPOSITORY_ID and how to find it.
resolve_repository_id() {
  [[ -n "$repo_id" ]] && return
  if ((dry_run)); then
    repo_id="REPOSITORY_ID"
    echo "# REPOSITORY_ID: gh api repos/$owner/$repo --jq .id"
    return
  fi
  command -v gh >/dev/null 2>&1 || die "pass --github-repository-id (gh, which could look it up, is not on PATH)"
  repo_id="$(gh api "repos/$owner/$repo" --jq .id)" || die "cannot read repos/$owner/$repo with gh: pass --github-repository-id"
  [[ "$repo_id" =~ ^[0-9]+$ ]] || die "gh returned no repository id for $owner/$repo"
}

deploy_command() {
  deploy_cmd=(aws cloudformation deploy
    --region "$region"
    --stack-name "$stack"
    --template-file "$TEMPLATE"
    --capabilities CAPABILITY_NAMED_IAM
    --no-fail-on-empty-changeset
    --parameter-overrides
    "GitHubOwner=$owner"
    "GitHubRepo=$repo"
    "GitHubRepositoryId=$repo_id"
    "ProjectName=$project")
  # Omitted when empty: the template's default ("") creates the provider.
  if [[ -n "$oidc_arn" ]]; then
    deploy_cmd+=("ExistingOidcProviderArn=$oidc_arn")
  fi
  # Omitted when empty: no budget (the template creates one only with an address).
  if [[ -n "$budget_email" ]]; then
    deploy_cmd+=("BudgetAlertEmail=$budget_email" "BudgetMonthlyLimitUsd=${budget_limit:-100}")
  fi
  # Omitted when empty: the topic exists, nobody is subscribed.
  if [[ -n "$alert_email" ]]; then
    deploy_cmd+=("AlertEmail=$alert_email")
  fi
}

# Fills the global `outputs` map from the stack. A dry run has no stack, so it
# shows the values the template's fixed naming will give, with ACCOUNT_ID unknown.
read_outputs() {
  declare -gA outputs=()
  local key value
  if ((dry_run)); then
    local role_prefix="arn:aws:iam::ACCOUNT_ID:role/$project"
    outputs=(
      [Region]="$region"
      [StagingDeployRoleArn]="$role_prefix-github-deploy-staging"
      [ProductionDeployRoleArn]="$role_prefix-github-deploy-production"
      [TrainingRoleArn]="$role_prefix-github-training"
      [PlanRoleArn]="$role_prefix-github-plan"
      [BatchRoleArn]="$role_prefix-github-batch"
      [MonitorRoleArn]="$role_prefix-github-monitor"
      [SageMakerExecutionRoleArn]="$role_prefix-sagemaker-execution"
      [ArtifactsBucketName]="$project-artifacts-ACCOUNT_ID-$region"
      [ModelPackageGroupName]="$project-classifier"
      [AlertsTopicArn]="arn:aws:sns:$region:ACCOUNT_ID:$project-alerts"
    )
    return
  fi
  while IFS=$'\t' read -r key value; do
    outputs[$key]="$value"
  done < <(aws cloudformation describe-stacks --region "$region" --stack-name "$stack" \
    --query 'Stacks[0].Outputs[].[OutputKey,OutputValue]' --output text)
  [[ -n "${outputs[TrainingRoleArn]:-}" ]] || die "stack $stack has no outputs"
}

print_variables() {
  local slug="$owner/$repo"
  echo
  echo "# Repository variables (Settings > Secrets and variables > Actions > Variables):"
  show gh variable set AWS_REGION --repo "$slug" --body "${outputs[Region]}"
  show gh variable set AWS_TRAINING_ROLE_ARN --repo "$slug" --body "${outputs[TrainingRoleArn]}"
  show gh variable set AWS_PLAN_ROLE_ARN --repo "$slug" --body "${outputs[PlanRoleArn]}"
  show gh variable set AWS_BATCH_ROLE_ARN --repo "$slug" --body "${outputs[BatchRoleArn]}"
  show gh variable set AWS_MONITOR_ROLE_ARN --repo "$slug" --body "${outputs[MonitorRoleArn]}"
  show gh variable set SAGEMAKER_ROLE_ARN --repo "$slug" --body "${outputs[SageMakerExecutionRoleArn]}"
  show gh variable set MLOPS_BUCKET --repo "$slug" --body "${outputs[ArtifactsBucketName]}"
  show gh variable set MLOPS_ALERTS_TOPIC_ARN --repo "$slug" --body "${outputs[AlertsTopicArn]}"
  echo
  echo "# config/pipeline.yaml must name the same group and project prefix:"
  echo "#   project: $project"
  echo "#   registry: {model_package_group: ${outputs[ModelPackageGroupName]}}"
  echo
  echo "# Environments (create them first; add required reviewers to production):"
  show gh api --method PUT "repos/$slug/environments/staging"
  show gh api --method PUT "repos/$slug/environments/production"
  echo
  echo "# Environment variables: one deploy role per environment, same variable name:"
  show gh variable set AWS_DEPLOY_ROLE_ARN --repo "$slug" --env staging --body "${outputs[StagingDeployRoleArn]}"
  show gh variable set AWS_DEPLOY_ROLE_ARN --repo "$slug" --env production --body "${outputs[ProductionDeployRoleArn]}"
}

main() {
  parse_args "$@"
  resolve_repository_id
  deploy_command
  if ((dry_run)); then
    echo "# Dry run: would run"
    show "${deploy_cmd[@]}"
  else
    command -v aws >/dev/null 2>&1 || die "the AWS CLI (aws) is not on PATH"
    [[ -f "$TEMPLATE" ]] || die "$TEMPLATE not found: run from the repository root"
    aws sts get-caller-identity --region "$region" --query Account --output text >/dev/null \
      || die "no AWS credentials: log in as an account administrator first"
    "${deploy_cmd[@]}"
  fi
  read_outputs
  print_variables
}

main "$@"
