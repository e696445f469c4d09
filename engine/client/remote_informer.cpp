#include "engine/client/remote_informer.h"
