from govcloud.cli.app import main

main()
