octocat
{"event_type":"domino","client_payload":{"repo":"{{repo}}","ref":"{{ref}}","sha":"{{after}}","via":"{{via}}"}}