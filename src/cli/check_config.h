/* check_config.h — `dqr serve --check-config`: the checks a start would
 * fail on, run without starting anything. */
#ifndef DQR_CLI_CHECK_CONFIG_H
#define DQR_CLI_CHECK_CONFIG_H

#include "gateway/gw.h"

/* Check the files and the catalog that cfg names; print each problem as one
 * "dqr: serve: ..." line on stderr. Returns how many were found (0: the
 * service would start as far as its settings go). Creates nothing. */
int cli_check_config(const gw_config *cfg);

#endif
