// mongosh script: initiates the one-node replica set if it is not yet initiated and exits 0
// only once this node is PRIMARY. Idempotent, so it doubles as the health/readiness check
// (docker-compose.yml healthcheck, k8s/components/mongodb readinessProbe).
// Env: MONGO_RS_NAME (rs0), MONGO_RS_HOST (the member's address as clients resolve it).
const rsName = process.env.MONGO_RS_NAME || 'rs0';
const rsHost = process.env.MONGO_RS_HOST || 'mongo:27017';
let primary = false;
try {
  primary = rs.status().myState === 1;
} catch (e) {
  if (e.codeName === 'NotYetInitialized' || e.code === 94) {
    const r = rs.initiate({ _id: rsName, members: [{ _id: 0, host: rsHost }] });
    print(`replica set ${rsName} initiated with ${rsHost}: ok=${r.ok}`);
  } else {
    print(`rs.status failed: ${e.message}`);
  }
}
quit(primary ? 0 : 1);
