#pragma once
// The sidebar: the sections of the main window and the kind each entry shows, in display
// order. One table serves the window, the tests and the command line (--section).

#include <QString>
#include <vector>

#include "engine/api/kinds.h"

namespace kd::dashboard {

struct SectionEntry {
  QString group;     // "Workloads", "Network", ... ("" for top-level entries)
  QString title;     // "Pods"
  QString resource;  // "pods"; "" for pages that are not a table of one kind (Cluster)
};

const std::vector<SectionEntry>& sidebarSections();
// The kind an entry shows (from the builtin kinds registry), or null for Cluster.
const api::KindInfo* kindOf(const SectionEntry& entry);

}  // namespace kd::dashboard
