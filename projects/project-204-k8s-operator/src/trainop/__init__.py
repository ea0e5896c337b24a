"""204: a Kopf operator for the MLTrainingJob custom resource."""
