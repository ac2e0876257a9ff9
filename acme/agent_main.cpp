// minid-acme-agent: the ACME agent as a program of its own, so that only this process loads
// libcurl and its TLS, Kerberos, LDAP and SSH libraries; the master and every worker stay free
// of them (44 shared libraries in one minid binary, 17 without). Started by the master only.
#include "acme/agent.hpp"

int main(int argc, char** argv) {
    return minid::acme::run_agent(argc, argv);
}
