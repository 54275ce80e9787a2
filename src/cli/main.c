// main.c: the smflow binary. Everything else of the command line is in the
// library (src/cli/cli.c and one file per command) so that tests link it too.
#include "cli/cli.h"

int main(int argc, char **argv)
{
  return cli_main(argc, argv);
}
