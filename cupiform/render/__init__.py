"""Plan -> text (a terminal, like Terraform's), markdown (a pull-request comment), JSON
(machines, ``schemas/plan.schema.json``). Renderers return strings; only the CLI prints."""
