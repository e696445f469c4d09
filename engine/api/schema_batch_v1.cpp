#include "engine/api/schema_builders.h"

namespace kd::api {
namespace {

constexpr TypeMaker type{"batch.v1"};

std::vector<TypeDef> jobSpecTypes() {
  return {
      type("JobSpec", "The desired run of a job.",
           {field("parallelism", "integer", "The most pods that run at once; default 1."),
            field("completions", "integer",
                  "How many pods must succeed; unset means any one success finishes the job."),
            field("completionMode", "string",
                  "NonIndexed counts successes, Indexed gives each pod an index that must "
                  "succeed once; default NonIndexed.")
                .oneOf({"NonIndexed", "Indexed"}),
            field("backoffLimit", "integer",
                  "Failed retries before the job is marked failed; default 6."),
            field("backoffLimitPerIndex", "integer",
                  "Indexed jobs only: failed retries allowed for each index."),
            field("maxFailedIndexes", "integer",
                  "Indexed jobs with backoffLimitPerIndex: how many indexes may fail before the "
                  "whole job fails."),
            field("activeDeadlineSeconds", "int64",
                  "Seconds the job may run in total before it is stopped and marked failed."),
            field("ttlSecondsAfterFinished", "integer",
                  "Seconds after the job finished when it is deleted; unset keeps it."),
            field("suspend", "boolean",
                  "When true, no pods are created and running ones are stopped; default false."),
            field("selector", "meta.v1.LabelSelector",
                  "The pods that belong to the job; generated unless manualSelector is set."),
            field("manualSelector", "boolean",
                  "When true, the given selector is used as is instead of a generated one."),
            field("template", "core.v1.PodTemplateSpec", "The pod each attempt runs.").req(),
            field("podFailurePolicy", "batch.v1.PodFailurePolicy",
                  "Rules that decide what a failed pod means for the job."),
            field("podReplacementPolicy", "string",
                  "When a replacement pod is created: TerminatingOrFailed as soon as the old pod "
                  "is terminating, Failed only once it has fully failed.")
                .oneOf({"TerminatingOrFailed", "Failed"}),
            field("successPolicy", "batch.v1.SuccessPolicy",
                  "Indexed jobs only: when the job counts as succeeded before all indexes are."),
            field("managedBy", "string",
                  "The controller that syncs the job; default the built-in job controller.")}),
      type("PodFailurePolicy", "Rules that classify failed pods of a job.",
           {field("rules", "[]batch.v1.PodFailurePolicyRule",
                  "Rules checked in order; the first match decides.")
                .req()
                .list("atomic")}),
      type("PodFailurePolicyRule", "One rule: a failure pattern and what to do on a match.",
           {field("action", "string",
                  "FailJob, FailIndex, Ignore (do not count the failure) or Count (count it as "
                  "usual).")
                .req()
                .oneOf({"FailJob", "FailIndex", "Ignore", "Count"}),
            field("onExitCodes", "batch.v1.PodFailurePolicyOnExitCodesRequirement",
                  "Matches by container exit codes."),
            field("onPodConditions", "[]batch.v1.PodFailurePolicyOnPodConditionsPattern",
                  "Matches by pod conditions; any one pattern is enough.")
                .list("atomic")}),
      type("PodFailurePolicyOnExitCodesRequirement", "A test on containers' exit codes.",
           {field("containerName", "string", "Only this container's code; unset checks all."),
            field("operator", "string", "In or NotIn the values.").req().oneOf({"In", "NotIn"}),
            field("values", "[]integer", "The exit codes compared against.").req().list("set")}),
      type("PodFailurePolicyOnPodConditionsPattern", "A test on a pod condition.",
           {field("type", "string", "The pod condition type, such as DisruptionTarget.").req(),
            conditionStatus()}),
      type("SuccessPolicy", "When an indexed job counts as succeeded early.",
           {field("rules", "[]batch.v1.SuccessPolicyRule", "Any one rule met is enough.")
                .req()
                .list("atomic")}),
      type(
          "SuccessPolicyRule", "A set of indexes or a count of successes that suffices.",
          {field("succeededIndexes", "string", "Index ranges such as \"1,3-5\" that must succeed."),
           field("succeededCount", "integer", "How many of those indexes must succeed.")}),
  };
}

// Job conditions merge by type but, as in Kubernetes, are atomic for server-side apply.
FieldDef jobConditions() {
  return keyedAtomic(
      field("conditions", "[]batch.v1.JobCondition", "The latest observations of the job's state."),
      "type");
}

std::vector<TypeDef> jobTypes() {
  return {
      type("Job", "Runs pods until a number of them finish successfully.",
           objectHead("batch/v1", "Job",
                      {field("spec", "batch.v1.JobSpec", "The desired run."),
                       field("status", "batch.v1.JobStatus",
                             "The most recently observed state; written by the system.")})),
      type("JobStatus", "The observed state of a job.",
           {jobConditions(),
            field("startTime", "Time", "When the job controller began working on the job."),
            field("completionTime", "Time", "When the job finished successfully."),
            field("active", "integer", "Pods pending or running."),
            field("succeeded", "integer", "Pods that succeeded."),
            field("failed", "integer", "Pods that failed."),
            field("terminating", "integer", "Pods being shut down."),
            field("ready", "integer", "Active pods that are ready."),
            field("completedIndexes", "string", "Indexed jobs: the succeeded indexes, as ranges."),
            field("failedIndexes", "string", "Indexed jobs: the failed indexes, as ranges."),
            field("uncountedTerminatedPods", "batch.v1.UncountedTerminatedPods",
                  "Finished pods not yet added to the counters.")}),
      type("UncountedTerminatedPods", "Finished pods the controller still has to count.",
           {field("succeeded", "[]string", "UIDs of succeeded pods.").list("set"),
            field("failed", "[]string", "UIDs of failed pods.").list("set")}),
      type("JobCondition", "One observed aspect of a job's state.",
           conditionFields(
               "Complete, Failed, Suspended, FailureTarget, ...",
               {field("lastProbeTime", "Time", "When the condition was last checked.")})),
      type("JobTemplateSpec", "The job a cron job creates on each run.",
           {field("metadata", "meta.v1.ObjectMeta", "Metadata given to the created jobs."),
            field("spec", "batch.v1.JobSpec", "The desired run of the created jobs.")}),
  };
}

std::vector<TypeDef> cronJobTypes() {
  return {
      type("CronJob", "Creates jobs on a repeating schedule.",
           objectHead("batch/v1", "CronJob",
                      {field("spec", "batch.v1.CronJobSpec", "The schedule and job."),
                       field("status", "batch.v1.CronJobStatus",
                             "The most recently observed state; written by the "
                             "system.")})),
      type(
          "CronJobSpec", "The desired schedule of a cron job.",
          {field("schedule", "string", "When to run, in cron syntax such as \"*/5 * * * *\".")
               .req(),
           field("timeZone", "string",
                 "The time zone name the schedule is read in; default the engine's zone."),
           field("startingDeadlineSeconds", "int64",
                 "A run missed by more than this many seconds is skipped."),
           field("concurrencyPolicy", "string",
                 "Allow overlapping runs, Forbid them, or Replace the running one; default "
                 "Allow.")
               .oneOf({"Allow", "Forbid", "Replace"}),
           field("suspend", "boolean", "When true, no new runs start; default false."),
           field("jobTemplate", "batch.v1.JobTemplateSpec", "The job each run creates.").req(),
           field("successfulJobsHistoryLimit", "integer",
                 "How many finished successful jobs to keep; default 3."),
           field("failedJobsHistoryLimit", "integer", "How many failed jobs to keep; default 1.")}),
      type("CronJobStatus", "The observed state of a cron job.",
           {field("active", "[]core.v1.ObjectReference", "The jobs running right now.")
                .list("atomic"),
            field("lastScheduleTime", "Time", "When a job was last started."),
            field("lastSuccessfulTime", "Time", "When a job last finished successfully.")}),
  };
}

}  // namespace

void addBatchV1Types(std::vector<TypeDef>& out) {
  for (auto group : {jobTypes(), jobSpecTypes(), cronJobTypes()}) {
    out.insert(out.end(), group.begin(), group.end());
  }
}

}  // namespace kd::api
