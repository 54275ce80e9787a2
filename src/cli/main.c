// main.c: the smflow command line. Dispatches to one file per command.
#include <stdio.h>
#include <string.h>

int main(int argc, char **argv)
{
  if (argc > 1 && strcmp(argv[1], "version") == 0) {
    printf("smflow %s\n", SMF_VERSION);
    return 0;
  }
  fprintf(stderr, "usage: smflow COMMAND ...\n");
  return 2;
}
