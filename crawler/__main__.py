from crawler.entry import main

main()
