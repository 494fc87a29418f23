#include "cli/cli.h"
int cmd_phi_scan(int argc, char **argv) { (void)argc; (void)argv; return 1; }
