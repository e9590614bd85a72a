# Helpers shared by the benchmark scripts (sourced).

# wait_grep FILE PATTERN [SECONDS]: until FILE holds PATTERN (30 s by default); then
# exits the bench, showing FILE
wait_grep() {
	local i tries=$((${3:-30} * 100))
	for ((i = 0; i < tries; i++)); do
		grep -q "$2" "$1" 2>/dev/null && return 0
		sleep 0.01
	done
	echo "bench: timed out waiting for '$2' in $1:" >&2
	cat "$1" >&2
	exit 1
}
