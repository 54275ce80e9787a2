// main.c: the smflow binary. Everything else of the command line is in the
// library (src/cli/cli.c and one file per command) so that tests link it too.
#include <stdio.h>
#include <unistd.h>

#include "cli/cli.h"

int main(int argc, char **argv)
{
  int rc = cli_main(argc, argv);
#ifdef __SANITIZE_ADDRESS__
  return rc;  // the leak check runs at exit
#else
  // Every command has closed what it opened (state databases are synced on
  // close); what the libraries would still tear down at exit — libuv joining
  // its thread pool, OpenSSL freeing its tables — goes with the process
  // anyway: ~1-2 ms per command.
  fflush(NULL);
  _exit(rc);
#endif
}
