# SPDX-License-Identifier: MIT
# bash completion for domino(1), the client of the domino broker.
#
# Commands and each command's options are read from `domino help` and
# `domino COMMAND --help` (cached per shell), so the completion follows the
# installed version; a fixed list serves when that fails. Listener names come
# from `domino listeners --json` (needs the admin token and a running broker),
# source names are fixed. Installed by `make install` as
# share/bash-completion/completions/domino.

_domino_commands_fallback="status tail log secret publish ingest register unregister listeners listener impact deliveries retry resolve enable disable report results replay relay cursor help"
_domino_global_opts="--control --token --data --json --help"
_domino_sources="github gitlab gitea bitbucket gerrit generic"
_domino_types="push ref.create ref.delete tag pr.open pr.update pr.merge pr.close change.patchset change.merged release ping other"
_domino_states="pending in_flight ok failed dead superseded"
_domino_plugins="http exec nng file"

# The commands listed by `domino help` (indented lines after "commands:").
_domino_commands()
{
	if [[ -z ${_domino_cmd_cache-} ]]; then
		_domino_cmd_cache=$("$1" help 2>/dev/null |
			awk '/^commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 }' |
			tr '\n' ' ')
		[[ -n $_domino_cmd_cache ]] || _domino_cmd_cache=$_domino_commands_fallback
	fi
	printf '%s\n' "$_domino_cmd_cache"
}

# Every --option named in `domino CMD --help`, cached per command.
_domino_cmd_opts()
{
	local prog=$1 cmd=$2 var
	var="_domino_opts_cache_${cmd//[^a-z]/_}"
	if [[ -z ${!var-} ]]; then
		printf -v "$var" '%s' "$({
			"$prog" "$cmd" --help 2>/dev/null | grep -oE -- '--[a-z][a-z0-9-]*'
			tr " " "\n" <<<"$_domino_global_opts"
		} | sort -u | tr '\n' ' ')"
	fi
	printf '%s\n' "${!var}"
}

# Listener names from the broker, using the control/token/data options
# already typed on the line.
_domino_listener_names()
{
	local prog=$1
	shift
	"$prog" "$@" listeners --json 2>/dev/null |
		grep -oE '"name":"[^"]*"' | sed 's/^"name":"//; s/"$//'
}

_domino()
{
	local cur prev words cword
	if declare -F _init_completion >/dev/null 2>&1; then
		_init_completion -n = || return
	else
		COMPREPLY=()
		cur=${COMP_WORDS[COMP_CWORD]}
		prev=${COMP_WORDS[COMP_CWORD - 1]}
		words=("${COMP_WORDS[@]}")
		cword=$COMP_CWORD
	fi
	local prog=${words[0]} cmd="" i w
	local -a conn=()

	# Find the command, skipping global options and their values.
	for ((i = 1; i < cword; i++)); do
		w=${words[i]}
		case $w in
		--control | --token | --data)
			conn+=("$w" "${words[i + 1]}")
			((i++))
			;;
		--control=* | --token=* | --data=*) conn+=("$w") ;;
		-*) ;;
		*)
			if [[ -z $cmd ]]; then cmd=$w; fi
			;;
		esac
	done

	case $prev in
	--data)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -d -- "$cur")
		return
		;;
	--control | --token | --repo | --ref | --before | --after | --actor | \
		--url | --id | --event | --depends-on | --provides | --name | \
		--config | --label | --from | --since | --until | --limit | \
		--count | --max-depth | --header | -H | --seq | --to | --reason | \
		--detail | --secret | --durable)
		return
		;;
	--status)
		mapfile -t COMPREPLY < <(compgen -W "pass fail error" -- "$cur")
		return
		;;
	--type)
		mapfile -t COMPREPLY < <(compgen -W "$_domino_types" -- "$cur")
		return
		;;
	--state)
		mapfile -t COMPREPLY < <(compgen -W "$_domino_states" -- "$cur")
		return
		;;
	--plugin)
		mapfile -t COMPREPLY < <(compgen -W "$_domino_plugins" -- "$cur")
		return
		;;
	--support-level)
		mapfile -t COMPREPLY < <(compgen -W "0 1 2 3" -- "$cur")
		return
		;;
	--listener)
		mapfile -t COMPREPLY < <(compgen -W "$(_domino_listener_names "$prog" "${conn[@]}")" -- "$cur")
		return
		;;
	esac

	if [[ -z $cmd ]]; then
		if [[ $cur == -* ]]; then
			mapfile -t COMPREPLY < <(compgen -W "$_domino_global_opts" -- "$cur")
		else
			mapfile -t COMPREPLY < <(compgen -W "$(_domino_commands "$prog")" -- "$cur")
		fi
		return
	fi

	if [[ $cur == -* ]]; then
		mapfile -t COMPREPLY < <(compgen -W "$(_domino_cmd_opts "$prog" "$cmd")" -- "$cur")
		return
	fi

	case $cmd in
	help)
		mapfile -t COMPREPLY < <(compgen -W "$(_domino_commands "$prog")" -- "$cur")
		;;
	secret | ingest)
		if [[ $prev == "$cmd" ]]; then
			mapfile -t COMPREPLY < <(compgen -W "$_domino_sources" -- "$cur")
		elif [[ $cmd == ingest ]]; then
			compopt -o filenames 2>/dev/null
			mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		fi
		;;
	register)
		compopt -o filenames 2>/dev/null
		mapfile -t COMPREPLY < <(compgen -f -- "$cur")
		;;
	listener | unregister | enable | disable)
		if [[ $prev == "$cmd" ]]; then
			mapfile -t COMPREPLY < <(compgen -W "$(_domino_listener_names "$prog" "${conn[@]}")" -- "$cur")
		fi
		;;
	esac
}

complete -F _domino domino
