"""105-04: ML workflow orchestration with Apache Airflow 3."""
