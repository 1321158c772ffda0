# Print an optspec for argparse to handle cmd's options that are independent of any subcommand.
function __fish_smtpcap_global_optspecs
    string join \n h/help V/version
end

function __fish_smtpcap_needs_command
    # Figure out if the current invocation already has a command.
    set -l cmd (commandline -opc)
    set -e cmd[1]
    argparse -s (__fish_smtpcap_global_optspecs) -- $cmd 2>/dev/null
    or return
    if set -q argv[1]
        # Also print the command, so this can be used to figure out what it is.
        echo $argv[1]
        return 1
    end
    return 0
end

function __fish_smtpcap_using_subcommand
    set -l cmd (__fish_smtpcap_needs_command)
    test -z "$cmd"
    and return 1
    contains -- $cmd[1] $argv
end

complete -c smtpcap -n "__fish_smtpcap_needs_command" -s h -l help -d 'Print help (see more with \'--help\')'
complete -c smtpcap -n "__fish_smtpcap_needs_command" -s V -l version -d 'Print version'
complete -c smtpcap -n "__fish_smtpcap_needs_command" -f -a "analyze" -d 'Analyse captures: files and directories (searched recursively, captures recognised by content); `-` reads standard input'
complete -c smtpcap -n "__fish_smtpcap_needs_command" -f -a "watch" -d 'Watch the copier live: capture on an interface (`-i`), or read a capture stream on standard input (`-`), and print each conversation\'s verdict the moment it is over'
complete -c smtpcap -n "__fish_smtpcap_needs_command" -f -a "findings" -d 'List the findings smtpcap can report (see docs/findings.md)'
complete -c smtpcap -n "__fish_smtpcap_needs_command" -f -a "completions" -d 'Print a shell completion script'
complete -c smtpcap -n "__fish_smtpcap_needs_command" -f -a "man" -d 'Print a man page (roff): smtpcap(1), or a command\'s own (`smtpcap man watch` prints smtpcap-watch(1))'
complete -c smtpcap -n "__fish_smtpcap_needs_command" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
complete -c smtpcap -n "__fish_smtpcap_using_subcommand analyze" -l format -d 'Output format: text for a person, markdown or html for a ticket, json / jsonl for tools, csv (one row per session) for a spreadsheet' -r -f -a "text\t''
json\t''
jsonl\t''
markdown\t''
html\t''
csv\t''"
complete -c smtpcap -n "__fish_smtpcap_using_subcommand analyze" -l host -d 'Keep only the sessions of this device or server (an IP address or a CIDR range; repeatable)' -r
complete -c smtpcap -n "__fish_smtpcap_using_subcommand analyze" -l keylog -d 'TLS secrets in the NSS key log format (`SSLKEYLOGFILE`) to decrypt the dialogue after STARTTLS (repeatable); the secrets a pcapng file carries are used as well' -r -F
complete -c smtpcap -n "__fish_smtpcap_using_subcommand analyze" -l min-severity -d 'List only findings of this severity or worse' -r -f -a "error\t''
warning\t''
info\t''"
complete -c smtpcap -n "__fish_smtpcap_using_subcommand analyze" -l color -d 'Colour in the text format' -r -f -a "auto\t''
always\t''
never\t''"
complete -c smtpcap -n "__fish_smtpcap_using_subcommand analyze" -l output-dir -d 'Write each capture\'s report to a file in DIR (named after the capture; an index.html with html); the summary goes to standard output' -r -F
complete -c smtpcap -n "__fish_smtpcap_using_subcommand analyze" -l annotate -d 'Write a copy of each capture with the findings as comments on the frames they cite and the verdict in the section header (pcapng, for Wireshark): PATH is the file for one capture, a directory for several (`NAME.annotated.pcapng`)' -r -F
complete -c smtpcap -n "__fish_smtpcap_using_subcommand analyze" -s j -l jobs -d 'Captures analysed at once (default: one per core)' -r
complete -c smtpcap -n "__fish_smtpcap_using_subcommand analyze" -l transcript -d 'Show each conversation\'s full transcript (text format)'
complete -c smtpcap -n "__fish_smtpcap_using_subcommand analyze" -l embed-keys -d 'With --annotate: write the --keylog lines of the capture\'s own TLS sessions into the copy (a Decryption Secrets Block). Anyone holding the copy can then read what was sent inside TLS, a password included'
complete -c smtpcap -n "__fish_smtpcap_using_subcommand analyze" -l summary-only -d 'Print only the summary of the run (worst first, captures per cause)'
complete -c smtpcap -n "__fish_smtpcap_using_subcommand analyze" -s v -l verbose -d 'List the files in the directories given that were skipped as not captures'
complete -c smtpcap -n "__fish_smtpcap_using_subcommand analyze" -s h -l help -d 'Print help'
complete -c smtpcap -n "__fish_smtpcap_using_subcommand watch" -s i -l interface -d 'Capture on this interface: with libpcap when smtpcap may (root, or `CAP_NET_RAW`), else through Wireshark\'s dumpcap (for members of the `wireshark` group)' -r
complete -c smtpcap -n "__fish_smtpcap_using_subcommand watch" -l capture-with -d 'How to capture on the interface: auto (libpcap if smtpcap may, else dumpcap), libpcap (in smtpcap itself), dumpcap (smtpcap never holds capture rights)' -r -f -a "auto\t''
libpcap\t''
dumpcap\t''"
complete -c smtpcap -n "__fish_smtpcap_using_subcommand watch" -l filter -d 'Capture filter (BPF) instead of the default: SMTP, POP3 and DNS ports, VLAN-tagged frames and IP fragments' -r
complete -c smtpcap -n "__fish_smtpcap_using_subcommand watch" -l host -d 'Follow only this device or server (an IP address or a CIDR range; repeatable)' -r
complete -c smtpcap -n "__fish_smtpcap_using_subcommand watch" -l format -d 'text: each verdict as it comes; jsonl: one JSON object per finished session' -r -f -a "text\t''
jsonl\t''"
complete -c smtpcap -n "__fish_smtpcap_using_subcommand watch" -l write -d 'Keep what was captured in this pcapng file (to analyse again, to attach)' -r -F
complete -c smtpcap -n "__fish_smtpcap_using_subcommand watch" -l stop-after -d 'Stop after this many conversations' -r
complete -c smtpcap -n "__fish_smtpcap_using_subcommand watch" -l duration -d 'Stop after this long (`90`, `90s`, `5m`, `1h`)' -r
complete -c smtpcap -n "__fish_smtpcap_using_subcommand watch" -l keylog -d 'TLS secrets (NSS key log) to decrypt the dialogue after STARTTLS' -r -F
complete -c smtpcap -n "__fish_smtpcap_using_subcommand watch" -l color -d 'Colour in the text view' -r -f -a "auto\t''
always\t''
never\t''"
complete -c smtpcap -n "__fish_smtpcap_using_subcommand watch" -l transcript -d 'Print each conversation\'s transcript with its verdict'
complete -c smtpcap -n "__fish_smtpcap_using_subcommand watch" -s h -l help -d 'Print help'
complete -c smtpcap -n "__fish_smtpcap_using_subcommand findings" -s h -l help -d 'Print help'
complete -c smtpcap -n "__fish_smtpcap_using_subcommand completions" -s h -l help -d 'Print help'
complete -c smtpcap -n "__fish_smtpcap_using_subcommand man" -s h -l help -d 'Print help'
complete -c smtpcap -n "__fish_smtpcap_using_subcommand help; and not __fish_seen_subcommand_from analyze watch findings completions man help" -f -a "analyze" -d 'Analyse captures: files and directories (searched recursively, captures recognised by content); `-` reads standard input'
complete -c smtpcap -n "__fish_smtpcap_using_subcommand help; and not __fish_seen_subcommand_from analyze watch findings completions man help" -f -a "watch" -d 'Watch the copier live: capture on an interface (`-i`), or read a capture stream on standard input (`-`), and print each conversation\'s verdict the moment it is over'
complete -c smtpcap -n "__fish_smtpcap_using_subcommand help; and not __fish_seen_subcommand_from analyze watch findings completions man help" -f -a "findings" -d 'List the findings smtpcap can report (see docs/findings.md)'
complete -c smtpcap -n "__fish_smtpcap_using_subcommand help; and not __fish_seen_subcommand_from analyze watch findings completions man help" -f -a "completions" -d 'Print a shell completion script'
complete -c smtpcap -n "__fish_smtpcap_using_subcommand help; and not __fish_seen_subcommand_from analyze watch findings completions man help" -f -a "man" -d 'Print a man page (roff): smtpcap(1), or a command\'s own (`smtpcap man watch` prints smtpcap-watch(1))'
complete -c smtpcap -n "__fish_smtpcap_using_subcommand help; and not __fish_seen_subcommand_from analyze watch findings completions man help" -f -a "help" -d 'Print this message or the help of the given subcommand(s)'
