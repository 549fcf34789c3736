# Sourced by .ci/run and bench/run.sh: puts the JDK the image ships first on PATH (JDK 25: the
# image's AOT cache needs it, see the Dockerfile), so that tests and benchmarks run the service on
# the image's JVM. Keeps a java on PATH that is already that version; else takes one under
# /usr/lib/jvm (these machines have Temurin 25 there). Sets image_jdk_found=true|false.
image_jdk_major=25
image_jdk_found=false
jdk_feature_version() {
  "$1" -XshowSettings:properties -version 2>&1 | sed -n 's/ *java.specification.version = //p'
}
if command -v java > /dev/null && [ "$(jdk_feature_version java)" = "$image_jdk_major" ]; then
  image_jdk_found=true
else
  for jdk in /usr/lib/jvm/*-"$image_jdk_major"-* /usr/lib/jvm/*-"$image_jdk_major"; do
    if [ -x "$jdk/bin/javac" ] && [ "$(jdk_feature_version "$jdk/bin/java")" = "$image_jdk_major" ]; then
      export JAVA_HOME="$jdk" PATH="$jdk/bin:$PATH"
      image_jdk_found=true
      break
    fi
  done
fi
