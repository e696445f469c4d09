#pragma once
// Placeholder: the client-side informer lands with the dashboard.
