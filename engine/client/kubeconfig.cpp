#include "engine/client/kubeconfig.h"
