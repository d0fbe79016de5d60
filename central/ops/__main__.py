from central.ops.cli import main

main()
