def my_students(request): ...


school_overview = county_overview = student_list = student_create = student_detail = student_edit = my_students
assessment_create = teacher_list = teacher_detail = school_list = school_detail = calendar_view = my_students
