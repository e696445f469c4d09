#pragma once
// How a status word looks: the colour and icon of Running, Pending, CrashLoopBackOff,
// Completed, Failed and their relatives, shared by every table and detail view.

#include <QColor>
#include <QIcon>
#include <QString>

namespace kd::dashboard {

enum class Health { Unknown, Good, Progressing, Done, Bad };

// The health a status cell means: "Running" → Good, "ContainerCreating" → Progressing,
// "Completed" → Done, "CrashLoopBackOff", "Error", "Failed" → Bad.
Health healthOf(const QString& status);
QColor healthColor(Health h);
QIcon healthIcon(Health h);  // from the :/icons resources

}  // namespace kd::dashboard
