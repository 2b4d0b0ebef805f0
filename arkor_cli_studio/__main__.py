from arkor_cli_studio.app import main

main()
