from linq_server.cli import main

main()
