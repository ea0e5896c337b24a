# GCP: Vertex AI (metadata store, private endpoint) for experiments and serving, GKE with a
# GPU pool, GCS + Artifact Registry for data, models and images; one Cloud KMS key for all.

data "google_project" "this" {
  project_id = var.project
}

resource "google_kms_key_ring" "ml" {
  name     = "${var.name}-ml"
  project  = var.project
  location = var.region
}

resource "google_kms_crypto_key" "ml" {
  name            = "${var.name}-ml"
  key_ring        = google_kms_key_ring.ml.id
  rotation_period = "7776000s"
  labels          = var.labels

  # Destroying the key destroys every byte encrypted with it: make that a deliberate act.
  lifecycle {
    prevent_destroy = true
  }
}

# The Google-managed service agents that must use the key.
resource "google_kms_crypto_key_iam_member" "agents" {
  for_each = toset([
    "serviceAccount:service-${data.google_project.this.number}@gs-project-accounts.iam.gserviceaccount.com",
    "serviceAccount:service-${data.google_project.this.number}@gcp-sa-aiplatform.iam.gserviceaccount.com",
    "serviceAccount:service-${data.google_project.this.number}@gcp-sa-artifactregistry.iam.gserviceaccount.com",
  ])
  crypto_key_id = google_kms_crypto_key.ml.id
  role          = "roles/cloudkms.cryptoKeyEncrypterDecrypter"
  member        = each.value
}

resource "google_storage_bucket" "ml" {
  #checkov:skip=CKV_GCP_62:access is audited with Cloud Audit Logs data access logs, not a log bucket
  name                        = "${var.project}-${var.name}-ml"
  project                     = var.project
  location                    = upper(var.region)
  uniform_bucket_level_access = true
  public_access_prevention    = "enforced"
  labels                      = var.labels

  versioning {
    enabled = true
  }

  encryption {
    default_kms_key_name = google_kms_crypto_key.ml.id
  }

  depends_on = [google_kms_crypto_key_iam_member.agents]
}

resource "google_artifact_registry_repository" "images" {
  repository_id = "${var.name}-images"
  project       = var.project
  location      = var.region
  format        = "DOCKER"
  kms_key_name  = google_kms_crypto_key.ml.id
  labels        = var.labels

  docker_config {
    immutable_tags = true
  }

  depends_on = [google_kms_crypto_key_iam_member.agents]
}

resource "google_vertex_ai_metadata_store" "ml" {
  name    = "${var.name}-metadata"
  project = var.project
  region  = var.region

  encryption_spec {
    kms_key_name = google_kms_crypto_key.ml.id
  }

  depends_on = [google_kms_crypto_key_iam_member.agents]
}

resource "google_vertex_ai_endpoint" "serving" {
  name         = "${var.name}-serving"
  display_name = "${var.name} serving"
  project      = var.project
  location     = var.region
  network      = "projects/${data.google_project.this.number}/global/networks/${basename(var.network)}"
  labels       = var.labels

  encryption_spec {
    kms_key_name = google_kms_crypto_key.ml.id
  }

  depends_on = [google_kms_crypto_key_iam_member.agents]
}

# Training jobs and GKE workloads run as this account: read/write the bucket, pull images.
resource "google_service_account" "training" {
  account_id   = "${var.name}-training"
  project      = var.project
  display_name = "${var.name} training and serving"
}

resource "google_storage_bucket_iam_member" "training" {
  bucket = google_storage_bucket.ml.name
  role   = "roles/storage.objectUser"
  member = "serviceAccount:${google_service_account.training.email}"
}

resource "google_artifact_registry_repository_iam_member" "training" {
  project    = var.project
  location   = var.region
  repository = google_artifact_registry_repository.images.name
  role       = "roles/artifactregistry.reader"
  member     = "serviceAccount:${google_service_account.training.email}"
}

resource "google_container_cluster" "ml" {
  #checkov:skip=CKV_GCP_65:Google Groups for RBAC needs a Workspace domain, set per organisation
  #checkov:skip=CKV_GCP_66:Binary Authorization policies are organisation-wide, outside this stack
  #checkov:skip=CKV_GCP_69:the default pool is removed; the GPU pool sets workload_metadata_config GKE_METADATA
  name                        = "${var.name}-gke"
  project                     = var.project
  location                    = var.region
  network                     = var.network
  subnetwork                  = var.subnetwork
  min_master_version          = var.kubernetes_version
  remove_default_node_pool    = true
  initial_node_count          = 1
  enable_shielded_nodes       = true
  enable_intranode_visibility = true
  resource_labels             = var.labels
  deletion_protection         = true

  release_channel {
    channel = "STABLE"
  }

  ip_allocation_policy {
    cluster_secondary_range_name  = "pods"
    services_secondary_range_name = "services"
  }

  private_cluster_config {
    enable_private_nodes    = true
    enable_private_endpoint = true
    master_ipv4_cidr_block  = "172.16.0.0/28"
  }

  master_authorized_networks_config {}

  workload_identity_config {
    workload_pool = "${var.project}.svc.id.goog"
  }

  database_encryption {
    state    = "ENCRYPTED"
    key_name = google_kms_crypto_key.ml.id
  }

  network_policy {
    enabled = true
  }

  master_auth {
    client_certificate_config {
      issue_client_certificate = false
    }
  }
}

# Cluster add-ons, controllers and CPU workloads run here, never on a GPU node.
resource "google_container_node_pool" "system" {
  name     = "system"
  project  = var.project
  location = var.region
  cluster  = google_container_cluster.ml.id

  autoscaling {
    min_node_count = 1
    max_node_count = 3
  }

  management {
    auto_repair  = true
    auto_upgrade = true
  }

  node_config {
    machine_type    = "e2-standard-4"
    service_account = google_service_account.training.email
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]
    image_type      = "COS_CONTAINERD"
    labels          = { workload = "system" }
    resource_labels = var.labels

    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }

    workload_metadata_config {
      mode = "GKE_METADATA"
    }
  }
}

resource "google_container_node_pool" "gpu" {
  name     = "gpu"
  project  = var.project
  location = var.region
  cluster  = google_container_cluster.ml.id

  autoscaling {
    min_node_count = var.gpu_pool.min
    max_node_count = var.gpu_pool.max
  }

  management {
    auto_repair  = true
    auto_upgrade = true
  }

  node_config {
    machine_type    = var.gpu_machine_type
    spot            = var.gpu_pool.spot
    service_account = google_service_account.training.email
    oauth_scopes    = ["https://www.googleapis.com/auth/cloud-platform"]
    image_type      = "COS_CONTAINERD"
    labels          = { workload = "gpu" }
    resource_labels = var.labels

    guest_accelerator {
      type  = var.gpu_accelerator
      count = 1
      gpu_driver_installation_config {
        gpu_driver_version = "LATEST"
      }
    }

    taint {
      key    = "nvidia.com/gpu"
      value  = "true"
      effect = "NO_SCHEDULE"
    }

    shielded_instance_config {
      enable_secure_boot          = true
      enable_integrity_monitoring = true
    }

    workload_metadata_config {
      mode = "GKE_METADATA"
    }
  }
}
