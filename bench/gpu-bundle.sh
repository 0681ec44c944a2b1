#!/usr/bin/env bash
# Packs what bench/gpu-check.sh needs on a GPU machine that has nvcc and cmake but no JDK and no internet:
# a jlinked Java 25 runtime and the built classes as jars, into gpu-bundle/ (git-ignored), well under the
# 64 MiB such a machine receives. Run it through the launcher, which finds the JDK and builds first:
#   ./tensorloom gpu-bundle
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
: "${JAVA_HOME:?set JAVA_HOME to a JDK 25 or newer (./tensorloom gpu-bundle does this)}"
JUNIT_CONSOLE=org.junit.platform:junit-platform-console-standalone:1.14.1
# The mpo family's decompositions (its GPU tests load the classes that name them).
EJML=org.ejml
EJML_VERSION=$(sed -n 's:.*<ejml.version>\(.*\)</ejml.version>.*:\1:p' "$ROOT/pom.xml")
BUNDLE="$ROOT/gpu-bundle"

rm -rf "$BUNDLE"
mkdir -p "$BUNDLE/lib"
# Only what the checks load; no CDS archives (they only speed up start-up and weigh 15 MB).
"$JAVA_HOME/bin/jlink" --add-modules java.base,java.logging,java.xml,jdk.incubator.vector,jdk.unsupported \
  --strip-debug --no-man-pages --no-header-files --compress zip-9 --output "$BUNDLE/jdk" 2>/dev/null
rm -f "$BUNDLE"/jdk/lib/server/classes*.jsa

# The GPU machine builds its own native libraries, so the jars carry classes only.
pack() { # pack NAME CLASSES_DIR
  (cd "$2" && "$JAVA_HOME/bin/jar" --create --file "$BUNDLE/lib/$1.jar" $(ls -A | grep -v '^native$'))
}
pack tensorloom-java-bindings "$ROOT/java-bindings/target/classes"
pack tensorloom-java-bindings-tests "$ROOT/java-bindings/target/test-classes"
pack tensorloom-runtime "$ROOT/runtime/target/classes"
pack tensorloom-runtime-tests "$ROOT/runtime/target/test-classes"
pack tensorloom-testkit "$ROOT/testkit/target/classes"
pack tensorloom-mpo "$ROOT/mpo/target/classes"
pack tensorloom-mpo-tests "$ROOT/mpo/target/test-classes"
pack tensorloom-quant "$ROOT/quant/target/classes"
pack tensorloom-quant-tests "$ROOT/quant/target/test-classes"
pack tensorloom-hyperbolic "$ROOT/hyperbolic/target/classes"
pack tensorloom-hyperbolic-tests "$ROOT/hyperbolic/target/test-classes"
pack tensorloom-bench "$ROOT/bench/target/classes"

for artifact in "$JUNIT_CONSOLE" "$EJML:ejml-core:$EJML_VERSION" "$EJML:ejml-ddense:$EJML_VERSION"; do
  "$ROOT/mvnw" -B -q -f "$ROOT/pom.xml" dependency:copy -Dartifact="$artifact" \
    -DoutputDirectory="$BUNDLE/lib" -Dmdep.stripVersion=true
done

echo "gpu-bundle: $(du -sh "$BUNDLE" | cut -f1) in $BUNDLE"
