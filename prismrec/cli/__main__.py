from prismrec.cli import main

main()
