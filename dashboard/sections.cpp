#include "dashboard/sections.h"

namespace kd::dashboard {

const std::vector<SectionEntry>& sidebarSections() {
  static const std::vector<SectionEntry> kSections = {
      {"", "Cluster", ""},
      {"Workloads", "Pods", "pods"},
      {"Workloads", "Deployments", "deployments"},
      {"Workloads", "ReplicaSets", "replicasets"},
      {"Workloads", "StatefulSets", "statefulsets"},
      {"Workloads", "DaemonSets", "daemonsets"},
      {"Workloads", "Jobs", "jobs"},
      {"Workloads", "CronJobs", "cronjobs"},
      {"Network", "Services", "services"},
      {"Network", "Endpoints", "endpoints"},
      {"Config", "ConfigMaps", "configmaps"},
      {"Config", "Secrets", "secrets"},
      {"Storage", "PersistentVolumeClaims", "persistentvolumeclaims"},
      {"", "Namespaces", "namespaces"},
      {"", "Events", "events"},
      {"", "Nodes", "nodes"},
  };
  return kSections;
}

const api::KindInfo* kindOf(const SectionEntry& entry) {
  if (entry.resource.isEmpty()) return nullptr;
  return api::KindsRegistry::builtin().resolve(entry.resource.toStdString());
}

}  // namespace kd::dashboard
