#pragma once
// How a status word looks: the colour and icon of Running, Pending, CrashLoopBackOff,
// Completed, Failed and their relatives, shared by every table and detail view. Colours keep a
// contrast ratio of at least 3 against the light and the dark theme's base (theme.h).

#include <QColor>
#include <QIcon>
#include <QString>

namespace kd::dashboard {

enum class Health { Unknown, Good, Progressing, Done, Bad };

// The health a status cell means: "Running" → Good, "ContainerCreating" → Progressing,
// "Completed" → Done, "CrashLoopBackOff", "Error", "Failed" → Bad.
Health healthOf(const QString& status);
// The colour for `h` on the application palette's base (table) colour.
QColor healthColor(Health h);
// The colour for `h` drawn on `background`: a darker set on light backgrounds, a lighter one on
// dark ones.
QColor healthColorOn(Health h, const QColor& background);
QIcon healthIcon(Health h);  // from the :/icons resources

}  // namespace kd::dashboard
