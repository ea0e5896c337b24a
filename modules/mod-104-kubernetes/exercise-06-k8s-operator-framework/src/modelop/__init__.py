"""104-06: a Kopf operator for the MLModel custom resource."""
