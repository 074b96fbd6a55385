"""Decision-gated actions (WORKFLOW.md): what contract, share-quantification and asset-disposal matters decide."""
